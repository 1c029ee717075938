import CZlib
import Foundation
import Glibc
import Logging
import NIOCore

/// `spool.*` of the agent's configuration.
public struct SpoolConfig: Sendable, Equatable {
    /// `spool.directory` (default `<state_dir>/spool`).
    public var directory: String
    /// `spool.max_bytes` — past it the oldest segment is dropped (default 64 MiB).
    public var maxBytes: Int
    /// `spool.max_age_seconds` — a segment whose newest batch is older is dropped (default 24 h).
    public var maxAgeSeconds: Int
    /// `spool.fsync` — fsync each batch before it counts as spooled (default true).
    public var fsync: Bool

    public init(directory: String, maxBytes: Int = 64 << 20, maxAgeSeconds: Int = 86_400, fsync: Bool = true) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.maxAgeSeconds = maxAgeSeconds
        self.fsync = fsync
    }

    /// Segment size: an eighth of the bound (so a drop loses at most that), 64 KiB … 8 MiB.
    var segmentBytes: Int { min(max(maxBytes / 8, 64 << 10), 8 << 20) }
}

/// Counters of the spool, sent by the sampler as `mon_agent_spool_*`.
public struct SpoolStats: Sendable, Equatable {
    public var bytes = 0
    public var segments = 0
    /// Unacked batches dropped because the spool exceeded its size or age bound.
    public var dropped = 0
    /// Batches that could not be written (disk full, I/O error): kept in memory only.
    public var writeErrors = 0
    /// Records found torn or corrupt at recovery (skipped).
    public var tornRecords = 0
    /// Batches recovered from disk at start.
    public var recovered = 0
}

/// The durable queue of the agent: every batch is appended to a segment file under
/// `spool.directory` (checksummed record, fsync) before `enqueue` returns, kept in memory
/// until acked, replayed after a restart, and deleted by whole segments once acked.
///
/// Record: magic `MSP1`, payload length (u32), CRC-32 of the payload (u32), payload (the
/// batch in the wire encoding, with its seq). Segment files are named
/// `<boot id>-<first seq, 20 digits>.seg`: batches keep the agent identity (boot id) and
/// sequence they were created with, so the daemon's ledger recognises a replay of a batch
/// it already stored. A restart with a non-empty spool reuses its boot id and continues its
/// sequence; with an empty spool it starts a new boot id at 1.
public actor SpoolBatchQueue: BatchQueue {
    struct Entry {
        var seq: UInt64
        var createdMs: Int64
        var payload: [UInt8]
        /// Index in `segments` identity (the segment's first seq), nil when not on disk.
        var segment: UInt64?
    }

    struct Segment {
        var firstSeq: UInt64
        var lastSeq: UInt64
        var lastCreatedMs: Int64
        var bytes: Int
        var path: String
    }

    static let magic: [UInt8] = Array("MSP1".utf8)
    static let headerBytes = 12

    public nonisolated let config: SpoolConfig
    public nonisolated let bootID: String
    private let logger: Logger
    private var entries: [Entry] = []
    private var head = 0
    /// The batch `oldestUnacked` last handed to the shipper (possibly on the wire now).
    private var handedOut: UInt64?
    /// A batch dropped by the bounds while it was on the wire: counted as dropped only if the
    /// next acknowledgement shows the daemon did not store it.
    private var droppedInFlight: UInt64?
    private var segments: [Segment] = []
    private var activeFD: Int32 = -1
    public private(set) var lastSeq: UInt64 = 0
    public private(set) var stats = SpoolStats()
    public nonisolated let appended: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private var loggedWriteError = false
    private var lockFD: Int32 = -1
    public nonisolated let shaper: BatchShaper

    /// Opens (creating) the spool directory and recovers what it holds.
    public init(config: SpoolConfig, logger: Logger, shaper: BatchShaper = BatchShaper()) throws {
        self.shaper = shaper
        self.config = config
        self.logger = logger
        (appended, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try FileManager.default.createDirectory(
            atPath: config.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        lockFD = open(config.directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0, flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            let reason = lockFD >= 0 ? "in use by another monagent" : String(cString: strerror(errno))
            if lockFD >= 0 { close(lockFD) }
            throw ConfigError(key: "spool.directory", message: "'\(config.directory)': \(reason)")
        }
        let recovered = try Self.recover(config.directory, logger: logger)
        bootID = recovered.bootID ?? UUID().uuidString.lowercased()
        entries = recovered.entries
        segments = recovered.segments
        lastSeq = recovered.entries.last?.seq ?? 0
        stats.tornRecords = recovered.torn
        stats.recovered = recovered.entries.count
        stats.bytes = segments.reduce(0) { $0 + $1.bytes }
        stats.segments = segments.count
        if !recovered.entries.isEmpty {
            logger.info(
                "spool recovered",
                metadata: [
                    "batches": "\(recovered.entries.count)", "first_seq": "\(recovered.entries.first?.seq ?? 0)",
                    "torn_records": "\(recovered.torn)", "boot_id": "\(bootID)",
                ])
        }
    }

    deinit {
        if activeFD >= 0 { close(activeFD) }
        if lockFD >= 0 { close(lockFD) }
    }

    public var spoolStats: SpoolStats? { stats }

    public func skipSequence(past seq: UInt64) { lastSeq = max(lastSeq, seq) }

    public var depth: Int { entries.count - head }
    public var dropped: Int { stats.dropped }

    public func append(_ batch: Batch) {
        lastSeq = max(lastSeq, batch.seq)
        var buffer = ByteBuffer()
        BatchCodec.encode(batch, into: &buffer)
        let payload = Array(buffer.readableBytesView)
        var entry = Entry(seq: batch.seq, createdMs: batch.createdMs, payload: payload, segment: nil)
        if write(entry) { entry.segment = segments.last?.firstSeq }
        entries.append(entry)
        enforceBounds(nowMs: WallClock.nowMs())
        signal.yield()
    }

    public func oldestUnacked() -> Batch? {
        while head < entries.count {
            var buffer = ByteBuffer(bytes: entries[head].payload)
            if let batch = try? BatchCodec.decode(&buffer) {
                handedOut = batch.seq
                return batch
            }
            // Cannot happen for what this process encoded; a corrupt recovered record passed
            // its checksum: count it and skip it rather than block the queue.
            stats.tornRecords += 1
            head += 1
        }
        return nil
    }

    public func acknowledge(upTo seq: UInt64) {
        if let inFlight = droppedInFlight {
            // Acknowledged: the daemon has it after all. Not: it is lost, count it now.
            if seq < inFlight { stats.dropped += 1 }
            droppedInFlight = nil
        }
        while head < entries.count, entries[head].seq <= seq { head += 1 }
        while let first = segments.first, first.lastSeq <= seq { removeFirstSegment() }
        compact()
    }

    /// Appends the record to the active segment (rolling to a new one when full); false on failure.
    private func write(_ entry: Entry) -> Bool {
        let record = Self.record(entry.payload)
        if activeFD < 0 || (segments.last.map { $0.bytes + record.count > config.segmentBytes } ?? true) {
            closeActive()
            let path = "\(config.directory)/\(bootID)-\(Self.pad(entry.seq)).seg"
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return writeFailed(errno, path: path) }
            activeFD = fd
            segments.append(
                Segment(firstSeq: entry.seq, lastSeq: entry.seq, lastCreatedMs: entry.createdMs, bytes: 0, path: path))
        }
        let written = record.withUnsafeBytes { Glibc.write(activeFD, $0.baseAddress, $0.count) }
        guard written == record.count, !config.fsync || fdatasync(activeFD) == 0 else {
            let error = errno
            // A partial record would be torn at recovery; cut it off and stop using this segment.
            if let last = segments.last { _ = ftruncate(activeFD, off_t(last.bytes)) }
            closeActive()
            return writeFailed(error, path: segments.last?.path ?? config.directory)
        }
        segments[segments.count - 1].bytes += record.count
        segments[segments.count - 1].lastSeq = entry.seq
        segments[segments.count - 1].lastCreatedMs = entry.createdMs
        stats.bytes += record.count
        stats.segments = segments.count
        loggedWriteError = false
        return true
    }

    private func writeFailed(_ error: Int32, path: String) -> Bool {
        stats.writeErrors += 1
        if !loggedWriteError {
            loggedWriteError = true
            logger.error(
                "cannot write the spool; batches are kept in memory only until it works again",
                metadata: ["path": "\(path)", "error": "\(String(cString: strerror(error)))"])
        }
        return false
    }

    private func closeActive() {
        if activeFD >= 0 { close(activeFD) }
        activeFD = -1
    }

    /// Drops the oldest segments past the size or age bound, counting their unacked batches.
    /// Memory-only batches (not spooled) are bounded the same way by their encoded size.
    private func enforceBounds(nowMs: Int64) {
        let oldestAllowed = nowMs - Int64(config.maxAgeSeconds) * 1000
        while segments.count > 1,
            stats.bytes > config.maxBytes || segments[0].lastCreatedMs < oldestAllowed
        {
            if head > 0 {
                entries.removeFirst(head)
                head = 0
            }
            let segment = segments[0]
            let lost = entries[head...].filter { $0.segment == segment.firstSeq }
            if !lost.isEmpty {
                // The batch on the wire may still be stored: its acknowledgement decides.
                let inFlight = lost.contains { $0.seq == handedOut } ? handedOut : nil
                if let inFlight { droppedInFlight = inFlight }
                stats.dropped += lost.count - (inFlight == nil ? 0 : 1)
                logger.warning(
                    "spool bound exceeded: dropped the oldest batches",
                    metadata: [
                        "batches": "\(lost.count)", "from": "\(Timestamp.iso8601(ms: lost.first!.createdMs))",
                        "to": "\(Timestamp.iso8601(ms: lost.last!.createdMs))", "spool_bytes": "\(stats.bytes)",
                    ])
                entries.removeAll { $0.segment == segment.firstSeq }
            }
            removeFirstSegment()
        }
        var memoryBytes = 0
        for entry in entries[head...] where entry.segment == nil { memoryBytes += entry.payload.count }
        while memoryBytes > config.maxBytes, let index = entries[head...].firstIndex(where: { $0.segment == nil }) {
            memoryBytes -= entries[index].payload.count
            entries.remove(at: index)
            stats.dropped += 1
        }
        compact()
    }

    private func removeFirstSegment() {
        let segment = segments.removeFirst()
        if segments.isEmpty { closeActive() }
        unlink(segment.path)
        stats.bytes -= segment.bytes
        stats.segments = segments.count
    }

    private func compact() {
        if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    // MARK: records

    static func pad(_ seq: UInt64) -> String {
        let text = String(seq)
        return String(repeating: "0", count: max(0, 20 - text.count)) + text
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
    }

    static func record(_ payload: [UInt8]) -> [UInt8] {
        var record = magic
        record.reserveCapacity(headerBytes + payload.count)
        for value in [UInt32(payload.count), crc(payload)] {
            withUnsafeBytes(of: value.bigEndian) { record.append(contentsOf: $0) }
        }
        record.append(contentsOf: payload)
        return record
    }

    struct Recovered {
        var bootID: String?
        var entries: [Entry] = []
        var segments: [Segment] = []
        var torn = 0
    }

    /// Reads every segment in sequence order; a record that is short or fails its checksum
    /// ends its segment (the file is cut there), the rest is kept.
    static func recover(_ directory: String, logger: Logger) throws -> Recovered {
        var result = Recovered()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }
        var parsed: [(boot: String, first: UInt64, name: String)] = []
        for name in names {
            let stem = name.dropLast(4)
            guard let dash = stem.lastIndex(of: "-"), let first = UInt64(stem[stem.index(after: dash)...]) else {
                logger.warning("ignoring an unknown file in the spool", metadata: ["file": "\(name)"])
                continue
            }
            parsed.append((String(stem[..<dash]), first, name))
        }
        // One boot id is live; segments of another (left by hand) would replay under the wrong identity.
        let live = parsed.max { $0.first < $1.first }?.boot
        for segment in parsed.sorted(by: { $0.first < $1.first }) {
            let path = "\(directory)/\(segment.name)"
            guard segment.boot == live else {
                logger.warning("dropping a spool segment of another agent boot", metadata: ["file": "\(segment.name)"])
                unlink(path)
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            var offset = 0
            var kept = Segment(firstSeq: segment.first, lastSeq: segment.first, lastCreatedMs: 0, bytes: 0, path: path)
            var count = 0
            while offset < bytes.count {
                guard let entry = parseRecord(bytes, at: offset) else {
                    result.torn += 1
                    logger.warning(
                        "torn or corrupt spool record skipped; the segment is cut there",
                        metadata: [
                            "file": "\(segment.name)", "offset": "\(offset)", "bytes_lost": "\(bytes.count - offset)",
                        ])
                    truncate(path, off_t(offset))
                    break
                }
                offset += headerBytes + entry.payload.count
                result.entries.append(
                    Entry(seq: entry.seq, createdMs: entry.createdMs, payload: entry.payload, segment: segment.first))
                kept.lastSeq = entry.seq
                kept.lastCreatedMs = entry.createdMs
                count += 1
            }
            kept.bytes = offset
            if count == 0 {
                unlink(path)
            } else {
                result.segments.append(kept)
            }
        }
        result.bootID = result.entries.isEmpty ? nil : live
        return result
    }

    static func parseRecord(_ bytes: [UInt8], at offset: Int) -> (seq: UInt64, createdMs: Int64, payload: [UInt8])? {
        guard bytes.count - offset >= headerBytes, Array(bytes[offset..<offset + 4]) == magic else { return nil }
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let length = Int(u32(offset + 4))
        let checksum = u32(offset + 8)
        let start = offset + headerBytes
        guard length >= 16, bytes.count - start >= length else { return nil }
        let payload = Array(bytes[start..<start + length])
        guard crc(payload) == checksum else { return nil }
        let seq = payload[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let created = Int64(bitPattern: payload[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        return (seq, created, payload)
    }
}
