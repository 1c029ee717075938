import Foundation
import Logging
import MonCore
import ServiceLifecycle

/// Tails the configured log files, ships their records as soon as they are read, feeds
/// request events to the aggregator, and remembers where it stands: positions are saved
/// once the batches holding the lines are acked, so after a restart nothing unacked is
/// skipped. While lines keep coming they are saved at most once a second
/// (`PositionsCheckpoint`; each save is a write, an `fsync` and a `rename`), and at once
/// when the service stops: after a crash the lines acked since the last save are read
/// again, and the daemon stores each line once (same file, offset and time).
///
/// Files are checked every `logs.poll_interval_ms`; while a file has more than one read's
/// worth (`defaultReadBytesPerPoll`, 2 MiB) waiting, the next read follows at once, so a
/// batch holds at most one read of lines (and 2 000 records; the shaper splits it further at
/// `ingest.max_batch_bytes`). Reading pauses while the batches queued and not
/// yet acked hold `backlogLimit` or more: in a burst, or while the daemon is away, the file
/// is the buffer, not the agent's memory, and the spool is never filled by logs to the point
/// of dropping batches.
public struct LogService: Service {
    /// Positions are saved at most this often while they keep moving (and when the service stops).
    static let positionsSaveIntervalMs: Int64 = 1000
    /// Records per batch at most (the daemon stores a batch in one statement).
    public static let maxRecordsPerBatch = 2000
    /// Bytes read from one file per read (default).
    public static let defaultReadBytesPerPoll = 2 << 20
    /// Reading pauses while this much is queued and not acked: a quarter of the spool's
    /// `spool.max_bytes`, at most 32 MiB (the spool keeps at most `spool.memory_max_bytes`
    /// of it in RAM); 4 MiB with the memory-only queue, which holds every batch in RAM.
    static func backlogLimit(spoolMaxBytes: Int?) -> Int {
        guard let spoolMaxBytes else { return 4 << 20 }
        return max(1, min(spoolMaxBytes / 4, 32 << 20))
    }

    let config: LogsConfig
    let maxUnackedBytes: Int
    let readBytesPerPoll: Int
    let positionsPath: String
    let queue: any BatchQueue
    let aggregator: AppAggregator
    let logger: Logger

    /// `maxUnackedBytes`: the back-pressure limit (default `backlogLimit` for the queue).
    public init(
        config: LogsConfig, stateDir: String, queue: any BatchQueue, aggregator: AppAggregator, logger: Logger,
        maxUnackedBytes: Int? = nil, readBytesPerPoll: Int = LogService.defaultReadBytesPerPoll
    ) {
        self.config = config
        self.readBytesPerPoll = readBytesPerPoll
        self.maxUnackedBytes =
            maxUnackedBytes ?? Self.backlogLimit(spoolMaxBytes: (queue as? SpoolBatchQueue)?.config.maxBytes)
        positionsPath = (stateDir as NSString).appendingPathComponent("log-positions.json")
        self.queue = queue
        self.aggregator = aggregator
        self.logger = logger
    }

    public func run() async throws {
        let parser = try LogLineParser(config: config)
        await cancelWhenGracefulShutdown { await self.loop(parser) }
    }

    private func loop(_ parser: LogLineParser) async {
        let tailer = LogTailer(
            patterns: config.paths, startAtEnd: config.startAt == .end, maxLineBytes: config.maxLineBytes,
            maxBytesPerPoll: readBytesPerPoll, positions: loadPositions(),
            opener: LogFileOpener(allowedOwners: config.allowedOwners.map(Set.init)))
        var backlog = LogBacklog(maxBytes: maxUnackedBytes)
        var checkpoint = PositionsCheckpoint(intervalMs: Self.positionsSaveIntervalMs)
        var lastError = ""
        while !Task.isCancelled {
            await savePositions(tailer, &backlog, &checkpoint, force: false)
            if backlog.isFull {
                aggregator.count("mon_agent_logs_read_pauses_total")
                try? await Task.sleep(for: .milliseconds(config.pollIntervalMs))
                continue
            }
            let stats = await readOnce(tailer, parser, &backlog)
            if let error = stats.readErrors.first, error != lastError {
                logger.warning("cannot read a log file", metadata: ["error": "\(error)"])
            }
            lastError = stats.readErrors.first ?? ""
            for refusal in stats.refused {
                // Once per path and file (the tailer reports each refusal once).
                logger.warning(
                    "log file not followed",
                    metadata: [
                        "path": "\(LogFileOpener.printable(refusal.path))", "reason": "\(refusal.reason.rawValue)",
                        "detail": "\(refusal.detail)",
                    ])
                aggregator.count("mon_agent_log_files_refused_total", labels: ["reason": refusal.reason.rawValue])
            }
            if !stats.budgetReached {
                try? await Task.sleep(for: .milliseconds(config.pollIntervalMs))
            } else {
                await Task.yield()
            }
        }
        await savePositions(tailer, &backlog, &checkpoint, force: true)
    }

    /// One poll of every file: parses the lines, counts them, queues their records.
    private func readOnce(
        _ tailer: LogTailer, _ parser: LogLineParser, _ backlog: inout LogBacklog
    ) async -> LogTailer.PollStats {
        let readMs = WallClock.nowMs()
        var records: [LogRecord] = []
        var counts = LogCounts()
        let stats = tailer.poll { line in
            let parsed = parser.parse(line.bytes, source: line.source, offset: line.offset, readMs: readMs)
            counts.add(parsed, truncated: line.truncated)
            records.append(parsed.record)
            if let request = parsed.request {
                aggregator.recordRequest(
                    endpoint: request.endpoint, method: request.method, status: request.status,
                    seconds: request.seconds, source: .logs, service: parsed.record.service, nowMs: readMs)
            }
        }
        counts.report(to: aggregator, stats)
        let batches = Self.cut(records, maxRecords: Self.maxRecordsPerBatch)
        for (index, batch) in batches.enumerated() {
            let seq = await queue.enqueue(
                Batch(seq: 0, createdMs: WallClock.nowMs(), samples: [], logs: Array(records[batch.range])))
            backlog.queued(
                seq: seq, bytes: batch.bytes, positions: index == batches.count - 1 ? tailer.positions : nil)
        }
        return stats
    }

    /// Consecutive ranges of `records` of at most `maxRecords`, in order, with their encoded
    /// size. The size per batch is bounded by the read (`readBytesPerPoll` per file); the
    /// queue's shaper splits a batch over `ingest.max_batch_bytes`, as for every source.
    static func cut(_ records: [LogRecord], maxRecords: Int) -> [(range: Range<Int>, bytes: Int)] {
        stride(from: 0, to: records.count, by: maxRecords).map { start in
            let range = start..<min(start + maxRecords, records.count)
            return (range, records[range].reduce(0) { $0 + BatchCodec.encodedSize(of: $1) })
        }
    }

    /// Saves the positions of the newest acked batch (or the current ones when nothing waits),
    /// when `checkpoint` says it is time (`force`: now).
    private func savePositions(
        _ tailer: LogTailer, _ backlog: inout LogBacklog, _ checkpoint: inout PositionsCheckpoint, force: Bool
    ) async {
        var acked: [LogTailer.Position]? = nil
        if !backlog.isEmpty { acked = backlog.acknowledge(oldestUnacked: await queue.oldestUnackedSeq) }
        if backlog.isEmpty { acked = tailer.positions }
        let hadSaved = checkpoint.saved != nil
        guard let positions = checkpoint.due(acked, nowMs: WallClock.nowMs(), force: force) else { return }
        do {
            let data = try JSONEncoder().encode(positions)
            try data.write(to: URL(fileURLWithPath: positionsPath), options: .atomic)
        } catch {
            if hadSaved || backlog.isEmpty {
                logger.warning(
                    "cannot save log positions; lines may be read again after a restart",
                    metadata: ["path": "\(positionsPath)", "error": "\(error)"])
            }
        }
    }

    private func loadPositions() -> [LogTailer.Position] {
        guard let data = FileManager.default.contents(atPath: positionsPath) else { return [] }
        do {
            return try JSONDecoder().decode([LogTailer.Position].self, from: data)
        } catch {
            logger.warning(
                "log positions file unreadable, following files from their end",
                metadata: ["path": "\(positionsPath)", "error": "\(error)"])
            return []
        }
    }
}

/// The log batches queued and not acked yet, oldest first, with the file positions to save
/// once a batch is acked (the last batch of each read carries them).
struct LogBacklog {
    struct Entry {
        var seq: UInt64
        var bytes: Int
        var positions: [LogTailer.Position]?
    }

    /// `isFull` from this many bytes on.
    let maxBytes: Int
    private(set) var entries: [Entry] = []
    private(set) var bytes = 0

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    var isEmpty: Bool { entries.isEmpty }
    /// Reading waits while this holds.
    var isFull: Bool { bytes >= maxBytes }

    mutating func queued(seq: UInt64, bytes size: Int, positions: [LogTailer.Position]?) {
        entries.append(Entry(seq: seq, bytes: size, positions: positions))
        bytes += size
    }

    /// Forgets the batches acked, given the queue's oldest unacked seq (nil: all are), and
    /// returns the newest positions among them.
    mutating func acknowledge(oldestUnacked: UInt64?) -> [LogTailer.Position]? {
        var newest: [LogTailer.Position]? = nil
        var count = 0
        for entry in entries {
            if let oldest = oldestUnacked, oldest <= entry.seq { break }
            newest = entry.positions ?? newest
            bytes -= entry.bytes
            count += 1
        }
        entries.removeFirst(count)
        return newest
    }
}

/// When the acked file positions are written to disk: the newest offered, at most once per
/// `intervalMs` (the first change after a quiet spell at once), or at once when forced. What
/// is written is never ahead of what was acked, only behind it by up to `intervalMs`.
struct PositionsCheckpoint {
    let intervalMs: Int64
    /// What was written last (or handed out to be written).
    private(set) var saved: [LogTailer.Position]?
    /// The newest acked positions not written yet.
    private(set) var pending: [LogTailer.Position]?
    private var lastWriteMs: Int64?

    init(intervalMs: Int64) { self.intervalMs = intervalMs }

    /// Takes the newest acked positions (nil: none newer) and returns those to write now, if any.
    mutating func due(_ acked: [LogTailer.Position]?, nowMs: Int64, force: Bool) -> [LogTailer.Position]? {
        if let acked { pending = acked == saved ? nil : acked }
        guard let positions = pending else { return nil }
        if !force, let last = lastWriteMs, nowMs - last < intervalMs, nowMs >= last { return nil }
        saved = positions
        pending = nil
        lastWriteMs = nowMs
        return positions
    }
}
