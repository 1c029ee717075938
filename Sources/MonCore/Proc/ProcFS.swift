#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads files under a procfs root as bytes; the only file in MonCore's host
/// collectors that makes system calls.
///
/// Tests point `root` at a fixture tree; the agent uses `/proc` (or `/host/proc`
/// in a container). Paths given to the methods are relative to `root`.
public struct ProcFS: Sendable, Hashable {
    /// Absolute path of the procfs mount, default `/proc`.
    public var root: String

    /// Largest file `read` accepts; /proc files worth parsing are far smaller.
    public static let maxFileSize = 4 << 20

    public init(root: String = "/proc") {
        var root = root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    /// The full path of `relativePath` under `root`.
    public func path(_ relativePath: String) -> String {
        relativePath.hasPrefix("/") ? root + relativePath : root + "/" + relativePath
    }

    /// Reads a whole file, e.g. `read("stat")` or `read("123/cmdline")`.
    public func read(_ relativePath: String) throws -> [UInt8] {
        let fullPath = path(relativePath)
        let fd = open(fullPath, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ProcFS.error(errno, "cannot open", fullPath) }
        defer { _ = close(fd) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ProcFS.error(code, "cannot read", fullPath)
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= ProcFS.maxFileSize else {
                throw ProcError(
                    code: .tooLarge, path: fullPath, errno: 0,
                    message: "cannot read \(fullPath): larger than \(ProcFS.maxFileSize) bytes")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Like `read`, but a file that does not exist or that the kernel does not
    /// support reading (pressure with `psi=0`) gives nil instead of an error.
    public func readIfPresent(_ relativePath: String) throws -> [UInt8]? {
        do {
            return try read(relativePath)
        } catch let error as ProcError where error.code == .notFound || error.code == .notSupported {
            return nil
        }
    }

    /// A kept-open `ProcFile` for `relativePath` (see `ProcFile` for `reopens`); its buffer starts
    /// at `initialCapacity` bytes and grows to the file's size.
    public func file(_ relativePath: String, reopens: Bool = true, initialCapacity: Int = 4096) -> ProcFile {
        ProcFile(path: path(relativePath), reopens: reopens, initialCapacity: initialCapacity)
    }

    /// Reads a whole file into `buffer` (grown as needed and kept by the caller for the next
    /// read, so a loop over many files allocates nothing) and returns its size.
    package func read(_ relativePath: String, into buffer: inout [UInt8]) throws -> Int {
        let fullPath = path(relativePath)
        let fd = open(fullPath, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ProcFS.error(errno, "cannot open", fullPath) }
        defer { _ = close(fd) }
        if buffer.count < 256 { buffer = [UInt8](repeating: 0, count: 4096) }
        var total = 0
        while true {
            if total == buffer.count {
                guard buffer.count < ProcFS.maxFileSize else {
                    throw ProcError(
                        code: .tooLarge, path: fullPath, errno: 0,
                        message: "cannot read \(fullPath): larger than \(ProcFS.maxFileSize) bytes")
                }
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, ProcFS.maxFileSize - buffer.count)))
            }
            let offset = total
            let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ProcFS.error(code, "cannot read", fullPath)
            }
            if count == 0 { return total }
            total += count
        }
    }

    /// Process ids: the numeric entries of `root`, ascending.
    public func pids() throws -> [Int32] {
        var pids: [Int32] = []
        try forEachEntry("") { name in
            if let pid = ProcFS.pid(name) { pids.append(pid) }
        }
        pids.sort()
        return pids
    }

    /// The pid a directory entry name stands for: 1 to 10 digits, no leading zero, fits Int32.
    static func pid(_ name: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard let first = name.first, first != UInt8(ascii: "0"), name.count <= 10 else { return nil }
        var value: Int64 = 0
        for byte in name {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value <= Int64(Int32.max) ? Int32(value) : nil
    }

    /// Number of entries of a directory, `.` and `..` excluded (open fds in `123/fd`).
    public func countEntries(_ relativePath: String) throws -> Int {
        var count = 0
        try forEachEntry(relativePath) { _ in count += 1 }
        return count
    }

    /// Names in a directory, `.` and `..` excluded, in directory order.
    public func entries(_ relativePath: String) throws -> [String] {
        var names: [String] = []
        try forEachEntry(relativePath) { names.append(String(decoding: $0, as: UTF8.self)) }
        return names
    }

    /// Calls `body` with the name bytes of every entry of a directory, `.` and `..` excluded,
    /// without making a String of each.
    func forEachEntry(_ relativePath: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let fullPath = relativePath.isEmpty ? root : path(relativePath)
        guard let directory = opendir(fullPath) else { throw ProcFS.error(errno, "cannot list", fullPath) }
        defer { _ = closedir(directory) }
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                let code = errno
                if code != 0 { throw ProcFS.error(code, "cannot list", fullPath) }
                return
            }
            try withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                let length = bytes.firstIndex(of: 0) ?? bytes.count
                let name = UnsafeBufferPointer(rebasing: bytes[0..<length])
                let dot = UInt8(ascii: ".")
                if (length == 1 && name[0] == dot) || (length == 2 && name[0] == dot && name[1] == dot) { return }
                try body(name)
            }
        }
    }

    /// Size, free and available space of the filesystem mounted at `mountpoint` (statvfs).
    public static func filesystemUsage(atPath mountpoint: String) throws -> FilesystemUsage {
        var stats = statvfs()
        guard statvfs(mountpoint, &stats) == 0 else { throw error(errno, "cannot statvfs", mountpoint) }
        let blockSize = UInt64(stats.f_frsize > 0 ? stats.f_frsize : stats.f_bsize)
        return FilesystemUsage(
            sizeBytes: UInt64(stats.f_blocks).multipliedReportingOverflow(by: blockSize).partialValue,
            freeBytes: UInt64(stats.f_bfree).multipliedReportingOverflow(by: blockSize).partialValue,
            availableBytes: UInt64(stats.f_bavail).multipliedReportingOverflow(by: blockSize).partialValue
        )
    }

    /// USER_HZ, the unit of /proc/stat and /proc/[pid]/stat times (100 on every Linux in use).
    public static var clockTicksPerSecond: Double {
        let value = sysconf(Int32(_SC_CLK_TCK))
        return value > 0 ? Double(value) : 100
    }

    /// The page size, the unit of `rss` in /proc/[pid]/stat.
    public static var pageSize: Int {
        let value = sysconf(Int32(_SC_PAGESIZE))
        return value > 0 ? value : 4096
    }

    static func error(_ code: Int32, _ action: String, _ path: String) -> ProcError {
        let kind: ProcError.Code
        switch code {
        case ENOENT, ESRCH, ENOTDIR: kind = .notFound
        case EACCES, EPERM: kind = .permissionDenied
        case EOPNOTSUPP, ENOTSUP: kind = .notSupported
        default: kind = .ioError
        }
        let reason = strerror(code).map { String(cString: $0) } ?? "errno \(code)"
        return ProcError(code: kind, path: path, errno: code, message: "\(action) \(path): \(reason) (errno \(code))")
    }
}

/// `read(2)`, named apart from `ProcFS.read`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
