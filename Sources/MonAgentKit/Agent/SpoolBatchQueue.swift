import Foundation
import Glibc
import Logging
import MonCore
import NIOCore

/// The durable queue of the agent: every batch is appended to a segment file under
/// `spool.directory` (checksummed record, `fdatasync`) before `enqueue` returns, replayed
/// after a restart, and deleted by whole segments once acked.
///
/// Segment files are named `<boot id>-<first seq, 20 digits>.seg` (records: `SpoolRecord`):
/// batches keep the agent identity (boot id) and sequence they were created with, so the
/// daemon's ledger recognises a replay of a batch it already stored. A restart with a
/// non-empty spool reuses its boot id and continues its sequence; with an empty spool it
/// starts a new boot id at 1.
///
/// Memory does not grow with the spool: RAM holds one entry per segment, a read cursor
/// (the oldest record not known to be acked) and at most `spool.memory_max_bytes` of
/// batches — the newest ones, and those the disk could not take. Older batches are read
/// back from their segment, one at a time, when the shipper needs them; recovery reads one
/// record at a time to check it. The directory is fsynced after a segment is created or
/// deleted, so a power loss neither loses a segment nor resurrects a deleted one.
///
/// When (`spool.fsync_delay_ms`): by default a batch's record is written at once (so a crash
/// of the agent loses nothing) and fsynced only if the daemon has not acknowledged it within
/// the delay — one acknowledged sooner is committed in PostgreSQL, and its segment is deleted
/// without ever being synced. On an idle host with the daemon up, spooling then costs a
/// write and an unlink per batch instead of three fsyncs. With a delay of 0 every record is
/// fsynced before `enqueue` returns.
public actor SpoolBatchQueue: BatchQueue {
    struct Segment {
        var firstSeq: UInt64
        var lastSeq: UInt64
        var firstCreatedMs: Int64
        var lastCreatedMs: Int64
        var bytes: Int
        var records: Int
        var path: String
        /// Its directory entry was fsynced (recovered segments: they were found on disk).
        var durable = true
    }

    /// A record's place: its segment (by first seq) and offset.
    struct Location: Equatable {
        var segment: UInt64
        var offset: Int
    }

    /// A batch held in RAM: spooled (`location` set; a cache) or memory only (nil).
    struct Resident {
        var seq: UInt64
        var payload: [UInt8]
        var location: Location?
    }

    /// Where reading stands: every record before it is acked (or was skipped as corrupt).
    struct Cursor {
        /// Index in `segments`.
        var segment = 0
        var offset = 0
        /// Records of that segment before `offset`.
        var index = 0
    }

    public nonisolated let config: SpoolConfig
    public nonisolated let bootID: String
    let logger: Logger
    private var segments: [Segment] = []
    private var cursor = Cursor()
    /// The newest spooled batches, oldest first.
    private var cached = CircularBuffer<Resident>()
    /// Batches the disk could not take, oldest first.
    private var memoryOnly = CircularBuffer<Resident>()
    private var ackedSeq: UInt64 = 0
    /// The batches handed to the shipper since its last pass from the oldest, not acked yet
    /// (possibly on the wire now), oldest first.
    private var handedOut: [UInt64] = []
    /// Batches dropped by the bounds while they were on the wire: counted as dropped only if
    /// an acknowledgement shows the daemon did not store them.
    private var droppedInFlight: [UInt64] = []
    private var activeFD: Int32 = -1
    /// A read descriptor of the cursor's segment (by first seq).
    private var reader: (segment: UInt64, descriptor: Int32)?
    private let directoryFD: Int32
    private let syncDirectory: @Sendable (Int32) -> Int32
    private let syncData: @Sendable (Int32) -> Int32
    /// Records written to the active segment and not yet fsynced (deferred sync only).
    private var activeDirty = false
    /// The pending deferred sync.
    private var syncTimer: Task<Void, Never>?
    public private(set) var lastSeq: UInt64 = 0
    public private(set) var stats = SpoolStats()
    public nonisolated let appended: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private var loggedWriteError = false
    private let lockFD: Int32
    public nonisolated let shaper: BatchShaper

    /// Opens (creating) the spool directory and recovers what it holds. `syncDirectory`
    /// is `fsync` and `syncData` `fdatasync` (tests inject recorders).
    public init(
        config: SpoolConfig, logger: Logger, shaper: BatchShaper = BatchShaper(),
        syncDirectory: @escaping @Sendable (Int32) -> Int32 = { fsync($0) },
        syncData: @escaping @Sendable (Int32) -> Int32 = { fdatasync($0) }
    ) throws {
        self.shaper = shaper
        self.config = config
        self.logger = logger
        self.syncDirectory = syncDirectory
        self.syncData = syncData
        (appended, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try FileManager.default.createDirectory(
            atPath: config.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = open(config.directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            let reason = lock >= 0 ? "in use by another monagent" : String(cString: strerror(errno))
            if lock >= 0 { close(lock) }
            throw ConfigError(key: "spool.directory", message: "'\(config.directory)': \(reason)")
        }
        lockFD = lock
        directoryFD = open(config.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else {
            let reason = String(cString: strerror(errno))
            close(lock)
            throw ConfigError(key: "spool.directory", message: "'\(config.directory)': \(reason)")
        }
        let recovered = try Self.recover(config.directory, logger: logger)
        bootID = recovered.bootID ?? UUID().uuidString.lowercased()
        segments = recovered.segments
        lastSeq = segments.last?.lastSeq ?? 0
        stats.tornRecords = recovered.torn
        stats.recovered = recovered.records
        stats.bytes = segments.reduce(0) { $0 + $1.bytes }
        stats.segments = segments.count
        if config.fsync { _ = syncDirectory(directoryFD) }  // the lock file, and what recovery cut or deleted
        if recovered.records > 0 {
            let firstSeq = recovered.segments.first?.firstSeq ?? 0
            let bytes = recovered.segments.reduce(0) { $0 + $1.bytes }
            let boot = bootID
            logger.info(
                "spool recovered",
                metadata: [
                    "batches": "\(recovered.records)", "first_seq": "\(firstSeq)",
                    "torn_records": "\(recovered.torn)", "boot_id": "\(boot)", "bytes": "\(bytes)",
                ])
        }
    }

    deinit {
        syncTimer?.cancel()
        if activeFD >= 0 {
            // A graceful stop: what is still unacknowledged becomes durable now.
            if activeDirty, syncData(activeFD) == 0, segments.last?.durable == false { _ = syncDirectory(directoryFD) }
            close(activeFD)
        }
        if let reader { close(reader.descriptor) }
        close(directoryFD)
        close(lockFD)
    }

    public var spoolStats: SpoolStats? { stats }

    public func skipSequence(past seq: UInt64) { lastSeq = max(lastSeq, seq) }

    public var depth: Int {
        let onDisk = segments[min(cursor.segment, segments.count)...].reduce(0) { $0 + $1.records }
        return memoryOnly.count + onDisk - (cursor.segment < segments.count ? cursor.index : 0)
    }

    public var dropped: Int { stats.dropped }

    public func append(_ batch: Batch) {
        lastSeq = max(lastSeq, batch.seq)
        var buffer = ByteBuffer()
        BatchCodec.encode(batch, into: &buffer)
        let payload = Array(buffer.readableBytesView)
        let location = write(payload, seq: batch.seq, createdMs: batch.createdMs)
        let resident = Resident(seq: batch.seq, payload: payload, location: location)
        if location == nil { memoryOnly.append(resident) } else { cached.append(resident) }
        stats.memoryBytes += payload.count
        enforceBounds(nowMs: WallClock.nowMs())
        signal.yield()
    }

    public func oldestUnacked() -> Batch? {
        while let oldest = oldestRecord() {
            var buffer = ByteBuffer(bytes: oldest.payload)
            if let batch = try? BatchCodec.decode(&buffer) {
                handedOut = [batch.seq]
                return batch
            }
            // A record that passed its checksum but does not decode (for a memory-only batch this
            // process encoded, it cannot happen): count it and skip it rather than block the queue.
            stats.tornRecords += 1
            if let header = oldest.header {
                advance(header)
            } else {
                stats.memoryBytes -= memoryOnly.removeFirst().payload.count
            }
        }
        return nil
    }

    /// The bytes as spooled, not decoded: a record passed its checksum, and one that does not
    /// decode after all is quarantined by the daemon (its seq leads the payload, as in the
    /// record's header) instead of being skipped here.
    public func unacked(after seq: UInt64?) -> EncodedBatch? {
        guard let seq else {
            guard let oldest = oldestRecord() else { return nil }
            handedOut = [oldest.seq]
            return EncodedBatch(seq: oldest.seq, payload: ByteBuffer(bytes: oldest.payload))
        }
        var next = spooledRecord(after: seq)
        if let memory = memoryOnly.first(where: { $0.seq > seq }), next.map({ memory.seq < $0.seq }) ?? true {
            next = (memory.seq, memory.payload)
        }
        guard let next else { return nil }
        handedOut.append(next.seq)
        return EncodedBatch(seq: next.seq, payload: ByteBuffer(bytes: next.payload))
    }

    /// A record as `oldestRecord` found it: `header` is nil for the first memory-only batch.
    private struct Record {
        var seq: UInt64
        var payload: [UInt8]
        var header: SpoolRecord.Header?
    }

    /// The oldest unacked batch, memory-only or spooled (read back unless cached).
    private func oldestRecord() -> Record? {
        while true {
            let disk = diskHead()
            if let memory = memoryOnly.first, disk.map({ memory.seq < $0.seq }) ?? true {
                return Record(seq: memory.seq, payload: memory.payload, header: nil)
            }
            guard let disk else { return nil }
            let location = Location(segment: segments[cursor.segment].firstSeq, offset: cursor.offset)
            guard let payload = cachedPayload(at: location) ?? readPayload(disk) else { continue }
            return Record(seq: disk.seq, payload: payload, header: disk)
        }
    }

    /// The first spooled record above `seq`, walking from the cursor without moving it; nil
    /// when there is none or it cannot be read now (the cursor's own walk deals with that).
    private func spooledRecord(after seq: UInt64) -> (seq: UInt64, payload: [UInt8])? {
        // The cache holds the newest spooled records in order: once its first is at or below
        // `seq`, the record after `seq` is in it, or there is none yet.
        if let first = cached.first, first.seq <= seq {
            return cached.first { $0.seq > seq }.map { ($0.seq, $0.payload) }
        }
        var position = cursor
        while position.segment < segments.count {
            let segment = segments[position.segment]
            guard position.offset < segment.bytes else {
                position = Cursor(segment: position.segment + 1)
                continue
            }
            if let first = cached.first, first.location == Location(segment: segment.firstSeq, offset: position.offset)
            {
                return (first.seq, first.payload)
            }
            guard let descriptor = readDescriptor(segment),
                let header = SpoolRecord.header(descriptor, at: position.offset, fileBytes: segment.bytes)
            else { return nil }
            if header.seq > seq {
                return SpoolRecord.payload(descriptor, header, at: position.offset).map { (header.seq, $0) }
            }
            position.offset += header.recordBytes
        }
        return nil
    }

    /// The oldest unacked seq, reading at most a record header.
    public var oldestUnackedSeq: UInt64? {
        let disk = diskHead()?.seq
        guard let memory = memoryOnly.first?.seq else { return disk }
        return min(memory, disk ?? .max)
    }

    public func acknowledge(upTo seq: UInt64) {
        if !droppedInFlight.isEmpty {
            // Acknowledged: the daemon has it after all. An ACK of a batch on the wire leaves
            // the later ones on their way; any other acknowledgement (WELCOME) means those above
            // `seq` were not stored: they are lost, count them now.
            let answersBatchOnTheWire = handedOut.contains(seq)
            if !answersBatchOnTheWire { stats.dropped += droppedInFlight.count(where: { $0 > seq }) }
            droppedInFlight.removeAll { $0 <= seq || !answersBatchOnTheWire }
        }
        handedOut.removeAll { $0 <= seq }
        ackedSeq = max(ackedSeq, seq)
        while let first = memoryOnly.first, first.seq <= seq {
            stats.memoryBytes -= memoryOnly.removeFirst().payload.count
        }
        while let first = cached.first, first.seq <= seq { stats.memoryBytes -= cached.removeFirst().payload.count }
        while let first = segments.first, first.lastSeq <= seq { removeFirstSegment() }
        // Moves the cursor past what is acked (diskHead skips records with seq <= ackedSeq).
        _ = diskHead()
    }

    // MARK: reading

    /// The record at the cursor after skipping acked and torn ones; nil when none is left.
    private func diskHead() -> SpoolRecord.Header? {
        while cursor.segment < segments.count {
            let segment = segments[cursor.segment]
            guard cursor.offset < segment.bytes else {
                // The active segment may still grow: the cursor waits at its end.
                if cursor.segment == segments.count - 1 { return nil }
                cursor = Cursor(segment: cursor.segment + 1)
                continue
            }
            let location = Location(segment: segment.firstSeq, offset: cursor.offset)
            if let first = cached.first, first.location == location {
                // In RAM: no disk read (and still served if the file went away meanwhile).
                if first.seq <= ackedSeq {
                    cursor.offset += SpoolRecord.headerBytes + first.payload.count
                    cursor.index += 1
                    continue
                }
                return SpoolRecord.Header(length: first.payload.count, checksum: 0, seq: first.seq)
            }
            guard let descriptor = readDescriptor(segment),
                let header = SpoolRecord.header(descriptor, at: cursor.offset, fileBytes: segment.bytes)
            else {
                skipRest("unreadable record header")
                continue
            }
            if header.seq <= ackedSeq {
                advance(header)
                continue
            }
            return header
        }
        return nil
    }

    private func advance(_ header: SpoolRecord.Header) {
        cursor.offset += header.recordBytes
        cursor.index += 1
    }

    /// A record found torn or corrupt when read back: the rest of its segment is skipped
    /// (its boundaries cannot be trusted), counted as one torn record.
    private func skipRest(_ why: String) {
        let segment = segments[cursor.segment]
        stats.tornRecords += 1
        logger.warning(
            "torn or corrupt spool record skipped with the rest of its segment (each counted as torn)",
            metadata: [
                "file": "\((segment.path as NSString).lastPathComponent)", "offset": "\(cursor.offset)",
                "reason": "\(why)", "batches_lost": "\(segment.records - cursor.index)",
            ])
        stats.tornRecords += segment.records - cursor.index - 1
        // New batches go to a new segment, after the cursor.
        if cursor.segment == segments.count - 1 { closeActive() }
        cursor = Cursor(segment: cursor.segment + 1)
    }

    private func cachedPayload(at location: Location) -> [UInt8]? {
        // Cached batches are the newest: the cursor's record, if cached, is the oldest of them.
        guard let first = cached.first, first.location == location else { return nil }
        return first.payload
    }

    private func readPayload(_ header: SpoolRecord.Header) -> [UInt8]? {
        let segment = segments[cursor.segment]
        guard let descriptor = readDescriptor(segment),
            let payload = SpoolRecord.payload(descriptor, header, at: cursor.offset)
        else {
            skipRest("checksum mismatch or read error")
            return nil
        }
        return payload
    }

    private func readDescriptor(_ segment: Segment) -> Int32? {
        if let reader, reader.segment == segment.firstSeq { return reader.descriptor }
        if let reader { close(reader.descriptor) }
        reader = nil
        let descriptor = open(segment.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        reader = (segment.firstSeq, descriptor)
        return descriptor
    }

    // MARK: writing

    /// Appends the record to the active segment (rolling to a new one when full); nil on failure.
    private func write(_ payload: [UInt8], seq: UInt64, createdMs: Int64) -> Location? {
        let record = SpoolRecord.encode(payload)
        if activeFD < 0 || (segments.last.map { $0.bytes + record.count > config.segmentBytes } ?? true) {
            // A full segment still holding unacknowledged batches is made durable before it
            // is left (no timer reaches a closed descriptor).
            if activeFD >= 0, activeDirty { syncActive() }
            closeActive()
            let path = "\(config.directory)/\(bootID)-\(Self.pad(seq)).seg"
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return writeFailed(errno, path: path) }
            activeFD = fd
            segments.append(
                Segment(
                    firstSeq: seq, lastSeq: seq, firstCreatedMs: createdMs, lastCreatedMs: createdMs, bytes: 0,
                    records: 0, path: path, durable: !defers))
            // The new name must survive a power loss as well as the records in it (deferred:
            // with them, if they are not acknowledged in time).
            if syncsNow { syncDirectoryOrCount(path) }
        }
        let offset = segments[segments.count - 1].bytes
        let written = record.withUnsafeBytes { Glibc.write(activeFD, $0.baseAddress, $0.count) }
        guard written == record.count, !syncsNow || countedDataSync(activeFD) == 0 else {
            let error = errno
            // A partial record would be torn at recovery; cut it off and stop using this segment.
            _ = ftruncate(activeFD, off_t(offset))
            closeActive()
            return writeFailed(error, path: segments.last?.path ?? config.directory)
        }
        segments[segments.count - 1].bytes += record.count
        segments[segments.count - 1].records += 1
        segments[segments.count - 1].lastSeq = seq
        segments[segments.count - 1].lastCreatedMs = createdMs
        stats.bytes += record.count
        stats.segments = segments.count
        loggedWriteError = false
        if defers {
            activeDirty = true
            scheduleSync()
        }
        return Location(segment: segments[segments.count - 1].firstSeq, offset: offset)
    }

    /// fsync at each record (`spool.fsync_delay_ms: 0`).
    private var syncsNow: Bool { config.fsync && config.fsyncDelayMs == 0 }
    /// fsync what is not acknowledged within `spool.fsync_delay_ms`.
    private var defers: Bool { config.fsync && config.fsyncDelayMs > 0 }

    private func countedDataSync(_ descriptor: Int32) -> Int32 {
        stats.dataSyncs += 1
        return syncData(descriptor)
    }

    /// One deferred sync at a time: it covers every record written before it runs.
    private func scheduleSync() {
        guard syncTimer == nil else { return }
        let delay = config.fsyncDelayMs
        syncTimer = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(delay))
            await self?.deferredSyncDue()
        }
    }

    private func deferredSyncDue() {
        syncTimer = nil
        guard activeDirty else { return }
        if let active = segments.last, active.lastSeq <= ackedSeq {
            activeDirty = false  // all acknowledged meanwhile: committed by the daemon
            return
        }
        syncActive()
        if activeDirty { scheduleSync() }  // it failed: again after the delay
    }

    /// fsyncs the active segment's records and, the first time, its directory entry. A
    /// failure is a write error (counted, logged once); the records stay spooled and the next
    /// deferred sync tries again.
    private func syncActive() {
        guard activeFD >= 0, !segments.isEmpty else { return }
        activeDirty = false
        if countedDataSync(activeFD) != 0 {
            syncFailed(errno, path: segments[segments.count - 1].path)
            activeDirty = true
            return
        }
        if !segments[segments.count - 1].durable {
            guard syncDirectory(directoryFD) == 0 else {
                syncFailed(errno, path: config.directory)
                return
            }
            segments[segments.count - 1].durable = true
        }
    }

    private func syncFailed(_ error: Int32, path: String) {
        countWriteError(
            error, path: path,
            "cannot fsync the spool; its batches are written but a power loss may take them until it works again")
    }

    private func syncDirectoryOrCount(_ path: String) {
        guard config.fsync, syncDirectory(directoryFD) != 0 else { return }
        syncFailed(errno, path: config.directory)
    }

    private func writeFailed(_ error: Int32, path: String) -> Location? {
        countWriteError(
            error, path: path, "cannot write the spool; batches are kept in memory only until it works again")
        return nil
    }

    /// Counts a failed write or sync; logs the first of a run of failures (until a write works).
    private func countWriteError(_ error: Int32, path: String, _ message: Logger.Message) {
        stats.writeErrors += 1
        if !loggedWriteError {
            loggedWriteError = true
            logger.error(message, metadata: ["path": "\(path)", "error": "\(String(cString: strerror(error)))"])
        }
    }

    private func closeActive() {
        if activeFD >= 0 { close(activeFD) }
        activeFD = -1
        activeDirty = false
    }

    // MARK: bounds

    /// Drops the oldest segments past the size or age bound, counting their unacked batches;
    /// keeps the batches held in RAM under `memory_max_bytes` (the cache goes first; memory-only
    /// batches past it, or past `max_bytes`, are dropped and counted).
    private func enforceBounds(nowMs: Int64) {
        let oldestAllowed = nowMs - Int64(config.maxAgeSeconds) * 1000
        while segments.count > 1, stats.bytes > config.maxBytes || segments[0].lastCreatedMs < oldestAllowed {
            let segment = segments[0]
            let lost = cursor.segment == 0 ? segment.records - cursor.index : 0
            if lost > 0 {
                // The batches on the wire may still be stored: their acknowledgements decide.
                let onTheWire = handedOut.filter {
                    $0 > ackedSeq && $0 >= segment.firstSeq && $0 <= segment.lastSeq
                }
                droppedInFlight += onTheWire
                stats.dropped += lost - onTheWire.count
                logger.warning(
                    "spool bound exceeded: dropped the oldest batches",
                    metadata: [
                        "batches": "\(lost)", "from": "\(Timestamp.iso8601(ms: segment.firstCreatedMs))",
                        "to": "\(Timestamp.iso8601(ms: segment.lastCreatedMs))", "spool_bytes": "\(stats.bytes)",
                    ])
            }
            removeFirstSegment()
        }
        let memoryBound = min(config.memoryMaxBytes, config.maxBytes)
        while stats.memoryBytes > memoryBound, let first = cached.popFirst() {
            stats.memoryBytes -= first.payload.count
        }
        while stats.memoryBytes > memoryBound, let first = memoryOnly.popFirst() {
            stats.memoryBytes -= first.payload.count
            stats.dropped += 1
        }
    }

    private func removeFirstSegment() {
        let segment = segments.removeFirst()
        if segments.isEmpty { closeActive() }
        if let reader, reader.segment == segment.firstSeq {
            close(reader.descriptor)
            self.reader = nil
        }
        cursor =
            cursor.segment == 0
            ? Cursor() : Cursor(segment: cursor.segment - 1, offset: cursor.offset, index: cursor.index)
        while let first = cached.first, first.location?.segment == segment.firstSeq {
            stats.memoryBytes -= cached.removeFirst().payload.count
        }
        unlink(segment.path)
        // A deleted segment must not come back after a power loss (its batches would replay);
        // one whose name was never made durable cannot.
        if segment.durable { syncDirectoryOrCount(segment.path) }
        stats.bytes -= segment.bytes
        stats.segments = segments.count
    }

    static func pad(_ seq: UInt64) -> String {
        let text = String(seq)
        return String(repeating: "0", count: max(0, 20 - text.count)) + text
    }
}
