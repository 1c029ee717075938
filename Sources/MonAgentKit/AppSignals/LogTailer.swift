import Foundation
import Glibc
import MonCore

/// Follows log files like `tail -F`, by polling: new lines, rotation by rename
/// (the old file is read to its end first), copytruncate and truncation (restart at 0),
/// files appearing and disappearing. Positions survive restarts through `positions`.
///
/// Every file is opened through a `LogFileOpener` (no symlink, no FIFO or device, no hard
/// link, an allowed owner) and matched paths are examined with `lstat`, never `stat`: a
/// link planted in the log directory, or swapped in for a followed file, is refused and
/// reported once in `PollStats.refused`, and nothing it points to is read.
///
/// Not thread-safe: one task owns it.
public final class LogTailer {
    /// One complete line and where it starts.
    public struct Line {
        public var bytes: ArraySlice<UInt8>
        /// `path@device:inode`.
        public var source: String
        public var offset: Int64
        /// The line was longer than `maxLineBytes` and was cut.
        public var truncated: Bool
    }

    /// Where reading stands in one file (persisted between runs).
    public struct Position: Codable, Sendable, Equatable {
        public var path: String
        public var device: UInt64
        public var inode: UInt64
        public var offset: Int64
        /// Hash of the file's first bytes (up to 256): an inode number is reused as soon as
        /// a file is deleted, so a position only applies to a file that starts the same way.
        public var fingerprint: UInt64?
    }

    /// What happened in one poll besides lines (for the agent's counters and logs).
    public struct PollStats: Sendable, Equatable {
        public var rotations = 0
        public var truncations = 0
        public var readErrors: [String] = []
        /// Paths not followed (symlinks, FIFOs, hard links, other owners): each reported
        /// once per path and file.
        public var refused: [LogFileOpener.Refusal] = []
        /// A file had more than `maxBytesPerPoll` to read: the rest waits for the next poll,
        /// which may follow at once.
        public var budgetReached = false
    }

    final class TrackedFile {
        var path: String
        let device: UInt64
        let inode: UInt64
        let descriptor: Int32
        /// `path@device:inode` at first sight; stays with the file when it is renamed.
        let source: String
        /// Offset of the first byte not yet part of an emitted line.
        var committed: Int64
        /// Bytes read past `committed` without a newline yet.
        var partial: [UInt8] = []
        /// Skipping the rest of an over-long line.
        var discarding = false
        /// When a rotated-away file last grew (it is read until quiet for `drainSeconds`).
        var lastGrowthMs: Int64 = 0

        init(path: String, device: UInt64, inode: UInt64, descriptor: Int32, offset: Int64, source: String? = nil) {
            self.path = path
            self.device = device
            self.inode = inode
            self.descriptor = descriptor
            self.source = source ?? "\(path)@\(device):\(inode)"
            committed = offset
        }

        var id: FileID { FileID(device: device, inode: inode) }
        var readOffset: Int64 { committed + Int64(partial.count) }

        deinit { close(descriptor) }
    }

    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    public let patterns: [String]
    public let startAtEnd: Bool
    public let maxLineBytes: Int
    /// Most bytes read from one file in one poll (the rest waits for the next poll).
    public let maxBytesPerPoll: Int
    /// A file renamed away (or deleted) is still read until it has been quiet this long:
    /// an application may write a few more lines to it before it reopens its log.
    public let drainSeconds: Double
    private var files: [String: TrackedFile] = [:]
    private var draining: [TrackedFile] = []
    private var saved: [String: Position]
    /// Where recently finished files stopped, by (device, inode): a rotated file that a glob
    /// also matches (`app.log*`) continues there instead of being read again.
    private var finished: [FileID: (offset: Int64, fingerprint: UInt64?)] = [:]
    private var finishedOrder: [FileID] = []
    private var firstPoll = true
    public let opener: LogFileOpener
    /// Paths refused, with the file and reason reported (reported again only when they change).
    private var refused: [String: (id: FileID, reason: LogFileOpener.Reason)] = [:]

    public init(
        patterns: [String], startAtEnd: Bool, maxLineBytes: Int, maxBytesPerPoll: Int = 8 << 20,
        drainSeconds: Double = 5, positions: [Position] = [], opener: LogFileOpener = LogFileOpener()
    ) {
        self.opener = opener
        self.patterns = patterns
        self.startAtEnd = startAtEnd
        self.maxLineBytes = maxLineBytes
        self.maxBytesPerPoll = maxBytesPerPoll
        self.drainSeconds = drainSeconds
        saved = Dictionary(positions.map { ($0.path, $0) }, uniquingKeysWith: { $1 })
    }

    /// Where every followed file stands (only complete lines count as read); saved
    /// positions of files not seen again yet are kept.
    public var positions: [Position] {
        let current = files.values.map {
            Position(
                path: $0.path, device: $0.device, inode: $0.inode, offset: $0.committed,
                fingerprint: Self.fingerprint(descriptor: $0.descriptor, length: $0.committed))
        }
        return (current + saved.values).sorted { $0.path < $1.path }
    }

    /// Reads what is new in every matching file, calling `emit` once per complete line in order.
    public func poll(nowMs: Int64 = WallClock.nowMs(), _ emit: (Line) -> Void) -> PollStats {
        var stats = PollStats()
        // Rotated-away files first: their lines are older than the new file's.
        drain(nowMs: nowMs, emit, &stats)
        let paths = Self.expand(patterns)
        refused = refused.filter { paths[$0.key] != nil }
        for path in paths.keys.sorted() {
            var info = stat()
            // lstat: a symlink is seen as itself, never as the file it points to.
            guard lstat(path, &info) == 0 else { continue }
            let id = FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            let size = Int64(info.st_size)
            if let tracked = files[path] {
                if tracked.id == id {
                    if size < tracked.readOffset {
                        // copytruncate or truncation: what was there is gone; start over.
                        stats.truncations += 1
                        tracked.committed = 0
                        tracked.partial = []
                        tracked.discarding = false
                    }
                    read(tracked, emit, &stats)
                    continue
                }
                // Renamed away and replaced: finish the old file, then follow the new one.
                stats.rotations += 1
                files[path] = nil
                retire(tracked, nowMs: nowMs, emit, &stats)
            }
            if let refusal = LogFileOpener.precheck(info, path: path) {
                refuse(refusal, id: id, &stats)
                continue
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else { continue }  // a directory: never a log
            if files.values.contains(where: { $0.id == id }) { continue }  // same file, another name
            if let index = draining.firstIndex(where: { $0.id == id }) {
                // A rotated file the patterns also match: keep reading it under its new name.
                let file = draining.remove(at: index)
                file.path = path
                files[path] = file
                saved[path] = nil
                read(file, emit, &stats)
                continue
            }
            guard let descriptor = openChecked(path, id: id, trustedDirectory: paths[path] ?? "", &stats) else {
                continue
            }
            let start: Int64
            if let entry = finished.removeValue(forKey: id) {
                start =
                    Self.fingerprint(descriptor: descriptor, length: entry.offset) == entry.fingerprint
                    ? entry.offset : 0
                saved[path] = nil
            } else if let position = saved.removeValue(forKey: path) {
                if position.device == id.device, position.inode == id.inode {
                    let same = Self.fingerprint(descriptor: descriptor, length: position.offset) == position.fingerprint
                    start = same || position.fingerprint == nil ? position.offset : 0
                } else {
                    // Rotated while the agent was away: finish the old file if it is still nearby.
                    if let old = Self.findRotated(near: path, device: position.device, inode: position.inode) {
                        finishRotated(old, position: position, emit, &stats)
                    }
                    start = 0
                }
            } else {
                start = firstPoll && startAtEnd ? size : 0
            }
            track(path, id: id, descriptor: descriptor, at: start <= size ? start : 0, emit, &stats)
        }
        // Files gone (deleted, or renamed without a successor yet): drained, then dropped.
        for (path, tracked) in files where paths[path] == nil {
            files[path] = nil
            retire(tracked, nowMs: nowMs, emit, &stats)
        }
        firstPoll = false
        return stats
    }

    /// Opens a new file through the opener; a refusal is reported once per path and identity.
    private func openChecked(
        _ path: String, id: FileID, trustedDirectory: String, _ stats: inout PollStats
    ) -> Int32? {
        switch opener.open(path, trustedDirectory: trustedDirectory) {
        case .missing:
            return nil
        case .failed(let message):
            stats.readErrors.append(message)
            return nil
        case .refused(let refusal):
            refuse(refusal, id: id, &stats)
            return nil
        case .opened(let descriptor, let info):
            guard UInt64(info.st_dev) == id.device, UInt64(info.st_ino) == id.inode else {
                // Replaced between lstat and open: look again at the next poll.
                close(descriptor)
                return nil
            }
            refused[path] = nil
            return descriptor
        }
    }

    /// Reports a refusal unless this path was already refused for the same file and reason.
    private func refuse(_ refusal: LogFileOpener.Refusal, id: FileID, _ stats: inout PollStats) {
        if let known = refused[refusal.path], known.id == id, known.reason == refusal.reason { return }
        refused[refusal.path] = (id, refusal.reason)
        stats.refused.append(refusal)
    }

    /// Moves a file no longer under its name to the draining list, after reading what is there.
    private func retire(_ file: TrackedFile, nowMs: Int64, _ emit: (Line) -> Void, _ stats: inout PollStats) {
        read(file, emit, &stats)
        file.lastGrowthMs = nowMs
        draining.append(file)
    }

    /// Reads draining files; those quiet for `drainSeconds` are finished and closed.
    private func drain(nowMs: Int64, _ emit: (Line) -> Void, _ stats: inout PollStats) {
        draining.removeAll { file in
            let before = file.readOffset
            read(file, emit, &stats)
            if file.readOffset != before { file.lastGrowthMs = nowMs }
            guard Double(nowMs - file.lastGrowthMs) >= drainSeconds * 1000 else { return false }
            flushPartial(file, emit)
            remember(file)
            return true
        }
    }

    private func track(
        _ path: String, id: FileID, descriptor: Int32, at offset: Int64, _ emit: (Line) -> Void,
        _ stats: inout PollStats
    ) {
        let tracked = TrackedFile(
            path: path, device: id.device, inode: id.inode, descriptor: descriptor, offset: offset)
        files[path] = tracked
        read(tracked, emit, &stats)
    }

    /// Reads a file rotated while the agent was away to its end, from the saved position,
    /// if it is still the same file (fingerprint) and passes the opener's rules.
    private func finishRotated(
        _ oldPath: String, position: Position, _ emit: (Line) -> Void, _ stats: inout PollStats
    ) {
        let directory = (oldPath as NSString).deletingLastPathComponent
        let descriptor: Int32
        switch opener.open(oldPath, trustedDirectory: directory) {
        case .opened(let opened, let info):
            guard UInt64(info.st_dev) == position.device, UInt64(info.st_ino) == position.inode else {
                close(opened)
                return
            }
            descriptor = opened
        case .refused(let refusal):
            refuse(refusal, id: FileID(device: position.device, inode: position.inode), &stats)
            return
        case .missing, .failed:
            return
        }
        guard
            position.fingerprint == nil
                || Self.fingerprint(descriptor: descriptor, length: position.offset) == position.fingerprint
        else {
            close(descriptor)
            return
        }
        stats.rotations += 1
        let tracked = TrackedFile(
            path: position.path, device: position.device, inode: position.inode, descriptor: descriptor,
            offset: position.offset)
        read(tracked, emit, &stats, limit: Int.max)
        flushPartial(tracked, emit)
    }

    /// Reads from the file's read offset to its end (bounded per poll), emitting complete lines.
    private func read(
        _ file: TrackedFile, _ emit: (Line) -> Void, _ stats: inout PollStats, limit: Int? = nil
    ) {
        var budget = limit ?? maxBytesPerPoll
        var chunk = [UInt8](repeating: 0, count: 65536)
        while budget > 0 {
            let wanted = min(chunk.count, budget)
            let count = chunk.withUnsafeMutableBytes {
                pread(file.descriptor, $0.baseAddress, wanted, off_t(file.readOffset))
            }
            if count < 0 {
                if errno == EINTR { continue }
                stats.readErrors.append(
                    "cannot read \(LogFileOpener.printable(file.path)): \(String(cString: strerror(errno)))")
                return
            }
            if count == 0 { return }
            budget -= count
            consume(chunk[0..<count], file, emit)
        }
        stats.budgetReached = true
    }

    private func consume(_ bytes: ArraySlice<UInt8>, _ file: TrackedFile, _ emit: (Line) -> Void) {
        var rest = bytes
        while let newline = rest.firstIndex(of: 0x0A) {
            let piece = rest[rest.startIndex..<newline]
            rest = rest[(newline + 1)...]
            if file.discarding {
                file.committed += Int64(file.partial.count + piece.count + 1)
                file.partial = []
                file.discarding = false
                continue
            }
            var line: ArraySlice<UInt8>
            if file.partial.isEmpty {
                line = piece
            } else {
                file.partial.append(contentsOf: piece)
                line = file.partial[...]
            }
            let length = line.count
            if line.last == 0x0D { line = line.dropLast() }
            if line.count > maxLineBytes {
                emit(
                    Line(bytes: line.prefix(maxLineBytes), source: file.source, offset: file.committed, truncated: true)
                )
            } else if !line.isEmpty {
                emit(Line(bytes: line, source: file.source, offset: file.committed, truncated: false))
            }
            file.committed += Int64(length + 1)
            file.partial = []
        }
        guard !rest.isEmpty else { return }
        if file.discarding {
            file.partial.append(contentsOf: rest)
            // Keep counting without keeping the bytes: remember only their number.
            let skipped = file.partial.count
            file.committed += Int64(skipped)
            file.partial = []
            return
        }
        file.partial.append(contentsOf: rest)
        if file.partial.count > maxLineBytes {
            emit(
                Line(bytes: file.partial[..<maxLineBytes], source: file.source, offset: file.committed, truncated: true)
            )
            file.committed += Int64(file.partial.count)
            file.partial = []
            file.discarding = true
        }
    }

    /// Keeps a finished file's offset by inode, with its fingerprint; a deleted file's is
    /// forgotten (its inode may be handed to the next file created).
    private func remember(_ file: TrackedFile) {
        var info = stat()
        guard fstat(file.descriptor, &info) == 0, info.st_nlink > 0 else { return }
        let id = FileID(device: file.device, inode: file.inode)
        let entry = (file.committed, Self.fingerprint(descriptor: file.descriptor, length: file.committed))
        if finished.updateValue(entry, forKey: id) == nil { finishedOrder.append(id) }
        if finishedOrder.count > 256 {
            finished[finishedOrder.removeFirst()] = nil
        }
    }

    /// A last line without a newline, emitted when its file is left for good.
    private func flushPartial(_ file: TrackedFile, _ emit: (Line) -> Void) {
        guard !file.partial.isEmpty, !file.discarding else { return }
        emit(Line(bytes: file.partial[...], source: file.source, offset: file.committed, truncated: false))
        file.committed += Int64(file.partial.count)
        file.partial = []
    }

    static let fingerprintBytes: Int64 = 256

    /// FNV-1a of the first `min(length, 256)` bytes; nil when there are none to compare.
    static func fingerprint(descriptor: Int32, length: Int64) -> UInt64? {
        let count = Int(min(length, fingerprintBytes))
        guard count > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, 0) }
        guard read == count else { return nil }
        return FNV1a.hash(buffer)
    }

    /// Paths matching the patterns (glob(3)), each with the literal directory of its
    /// pattern (the shortest when several patterns match): below it, nothing is followed.
    static func expand(_ patterns: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for pattern in patterns {
            let trusted = LogFileOpener.literalDirectory(of: pattern)
            var result = glob_t()
            defer { globfree(&result) }
            guard glob(pattern, 0, nil, &result) == 0 else { continue }
            for index in 0..<Int(result.gl_pathc) {
                guard let cString = result.gl_pathv[index] else { continue }
                let path = String(cString: cString)
                if let known = out[path], known.count <= trusted.count { continue }
                out[path] = trusted
            }
        }
        return out
    }

    /// A file in `path`'s directory with this device and inode (its rotated name), if any.
    static func findRotated(near path: String, device: UInt64, inode: UInt64) -> String? {
        let directory = (path as NSString).deletingLastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
        else { return nil }
        for name in names {
            let candidate = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            if lstat(candidate, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode {
                return candidate
            }
        }
        return nil
    }
}
