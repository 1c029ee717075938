#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A /proc file kept open and re-read from offset 0 with `pread(2)` every cycle.
///
/// Opening a /proc file costs more than reading it (path walk, dentry, seq_file set-up);
/// node_exporter-style agents keep the descriptors of the files they read every cycle.
/// Host-wide files (`stat`, `meminfo`, `diskstats`, `net/dev`…) set `reopens`: after a
/// failed read the descriptor is closed and the next read opens the path again. A per-process
/// file (`123/stat`) must not reopen: its descriptor stays bound to the process it was opened
/// for, so once that process is gone reads fail (ESRCH) even when the pid is reused, and
/// the owner drops the file.
///
/// Owned by one collector; not for sharing between threads.
public final class ProcFile {
    /// The absolute path.
    public let path: String
    /// Whether a read after a failure opens the path again.
    public let reopens: Bool
    private var descriptor: Int32 = -1
    private var failed = false
    private var buffer: [UInt8]

    /// Opens nothing yet; the first `read` does.
    public init(path: String, reopens: Bool = true, initialCapacity: Int = 4096) {
        self.path = path
        self.reopens = reopens
        self.buffer = [UInt8](repeating: 0, count: max(initialCapacity, 64))
    }

    deinit { closeDescriptor() }

    /// Whether a descriptor is currently held.
    public var isOpen: Bool { descriptor >= 0 }

    /// The whole file, from offset 0.
    public func read() throws -> [UInt8] {
        try withBytes { Array($0) }
    }

    /// Calls `body` with the whole file, from offset 0, in the file's own buffer (no copy, no
    /// allocation once the buffer has grown to the file's size). The bytes are valid only in `body`.
    package func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) throws -> Result {
        let total = try fill()
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<total])) }
    }

    /// Like `withBytes`, but a file that does not exist or that the kernel does not support
    /// reading (pressure with `psi=0`) gives nil without calling `body`.
    package func withBytesIfPresent<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) throws -> Result? {
        let total: Int
        do {
            total = try fill()
        } catch let error as ProcError where error.code == .notFound || error.code == .notSupported {
            return nil
        }
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<total])) }
    }

    /// Reads the whole file into `buffer` (opening it first when needed); returns its size.
    private func fill() throws -> Int {
        if descriptor < 0 {
            guard !failed || reopens else {
                throw ProcError(
                    code: .notFound, path: path, errno: ESRCH, message: "cannot read \(path): the process is gone")
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                failed = true
                throw ProcFS.error(errno, "cannot open", path)
            }
            descriptor = fd
        }
        var total = 0
        while true {
            if total == buffer.count {
                guard buffer.count < ProcFS.maxFileSize else {
                    fail()
                    throw ProcError(
                        code: .tooLarge, path: path, errno: 0,
                        message: "cannot read \(path): larger than \(ProcFS.maxFileSize) bytes")
                }
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, ProcFS.maxFileSize - buffer.count)))
            }
            let fd = descriptor
            let offset = total
            let count = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + offset, raw.count - offset, off_t(offset))
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                fail()
                throw ProcFS.error(code, "cannot read", path)
            }
            if count == 0 { return total }
            total += count
        }
    }

    /// Like `read`, but a file that does not exist or that the kernel does not support
    /// reading (pressure with `psi=0`) gives nil instead of an error.
    public func readIfPresent() throws -> [UInt8]? {
        do {
            return try read()
        } catch let error as ProcError where error.code == .notFound || error.code == .notSupported {
            return nil
        }
    }

    /// Closes the descriptor (a later `read` reopens when `reopens`, and fails otherwise).
    public func close() {
        fail()
    }

    private func fail() {
        failed = true
        closeDescriptor()
    }

    private func closeDescriptor() {
        if descriptor >= 0 { _ = systemClose(descriptor) }
        descriptor = -1
    }
}

@available(*, unavailable)
extension ProcFile: Sendable {}

/// `close(2)`, named apart from `ProcFile.close`.
private func systemClose(_ fd: Int32) -> Int32 {
    close(fd)
}
