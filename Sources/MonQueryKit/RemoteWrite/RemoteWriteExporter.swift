import Foundation
import Logging
import MonCore
import ServiceLifecycle
import Synchronization

/// Sends a remote-write body; answers the HTTP status. Throws when there is no answer
/// (connection refused, TLS, timeout). monquery's implementation is an HTTP/1.1 POST with
/// SwiftNIO (`RemoteWritePoster`); tests pass a fake.
public protocol RemoteWriteTransport: Sendable {
    func send(_ body: [UInt8]) async throws -> Int
}

/// One destination's figures for `/metrics` and `/health/detailed`.
public struct RemoteWriteStatus: Sendable, Equatable {
    public var destination: String
    public var target: String
    /// Samples answered 2xx.
    public var sent = 0
    /// Samples of attempts that failed (5xx, 429, no answer), each retried.
    public var failed = 0
    /// Samples given up, by reason (`http_400` …: the receiver refused them; `out_of_order`:
    /// older than what this series already sent, which a receiver refuses; `encoding`).
    public var dropped: [String: Int] = [:]
    /// Ledger batches (and their samples) stored but not yet exported, at the last pass.
    public var pendingBatches = 0
    public var pendingSamples = 0
    /// Seconds between now and the reception of the oldest batch not exported (0: caught up);
    /// it keeps growing while a pass waits for an unreachable receiver.
    public var lagSeconds = 0.0
    /// When the oldest batch not exported was received (nil: caught up), at the last pass.
    public var oldestPendingMs: Int64?
    public var lastSuccessMs: Int64?
    public var lastFailureMs: Int64?
    public var lastError: String?
    /// The last attempt failed (the destination is unreachable or answering 5xx/429).
    public var failing = false
    /// This instance holds the export lease (another daemon on the database exports otherwise).
    public var exporting = false

    public init(destination: String, target: String) {
        self.destination = destination
        self.target = target
    }
}

/// Streams every stored sample to one `export.remote_write` destination, in ingest order, at
/// least once.
///
/// It follows the ingest ledger by transaction id (`Schema` migration 12): a pass reads the
/// batches after the destination's cursor (those whose transactions are all finished), their
/// samples and histograms by series and time range, sends them, and only then moves the cursor
/// in `remote_write_cursors`. A restart or an outage of the receiver resumes from the cursor:
/// nothing is skipped, a batch may be sent twice (a receiver ignores a sample it already holds).
/// Only the holder of the `remote_write` lease exports (several daemons on one database).
public actor RemoteWriteExporter {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public nonisolated let settings: RemoteWriteSettings
    let connector: PostgresConnector
    let transport: any RemoteWriteTransport
    let lease: Lease?
    let logger: Logger
    /// Seconds between passes when caught up.
    let interval: Double
    /// How long `drain` runs before `run` claims the lease again (default 10 s).
    let drainSeconds: Int64
    private let filter: MetricNameFilter
    private let state: Mutex<RemoteWriteStatus>
    private var cursor: String?

    /// A series as sent (nil labels: filtered out by `write_relabel`).
    struct SeriesInfo {
        var name: String
        var labels: [Prometheus_Label]?
    }
    private var seriesInfo: [Int64: SeriesInfo] = [:]
    /// The newest timestamp sent per series (and `_bucket`/`_sum`/`_count` of a histogram).
    private var lastSentMs: [Int64: Int64] = [:]
    private var histogramTotals: [Int64: RemoteWriteEncoder.HistogramTotals] = [:]

    public init(
        settings: RemoteWriteSettings, databaseURL: String, password: String?, transport: any RemoteWriteTransport,
        lease: Lease?, interval: Double = 1, drainSeconds: Int64 = 10, logger: Logger
    ) {
        self.settings = settings
        executor = ThreadExecutor(name: "pg-remote-write")
        connector = PostgresConnector(
            url: databaseURL, applicationName: "monquery-remote-write", password: password)
        self.transport = transport
        self.lease = lease
        self.interval = interval
        self.drainSeconds = drainSeconds
        self.logger = logger
        filter = MetricNameFilter(keep: settings.keep, drop: settings.drop)
        state = Mutex(RemoteWriteStatus(destination: settings.name, target: settings.redactedURL))
    }

    /// The figures now; readable from any thread.
    public nonisolated var status: RemoteWriteStatus {
        var status = state.withLock { $0 }
        status.lagSeconds = status.oldestPendingMs.map { max(0, Double(WallClock.nowMs() - $0) / 1000) } ?? 0
        return status
    }

    /// Exports until cancelled: a pass, then another at once while there is a backlog, else
    /// after `interval`. A failed pass (PostgreSQL away) is logged and tried again later.
    public func run() async {
        var pause = Backoff(initial: 1, maximum: 30)
        while !Task.isCancelled {
            if let lease {
                let claim = await lease.claim(.remoteWrite)
                state.withLock { $0.exporting = claim.mayRun }
                if claim == .acquired { cursor = nil }
                guard claim.mayRun else {
                    try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                    continue
                }
            } else {
                state.withLock { $0.exporting = true }
            }
            do {
                let more = try await drain()
                pause.reset()
                if !more { try? await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "remote-write pass failed; trying again",
                    metadata: ["destination": "\(settings.name)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(Int(pause.next() * 1000)))
            }
        }
    }

    /// One ledger batch after the cursor.
    struct LedgerRow {
        var tx: String
        var samples: Int
    }

    /// A pass read from PostgreSQL and ready to send: the batches after the cursor through
    /// `through`, as series.
    struct PreparedPass {
        var through: String
        var series: [RemoteWriteEncoder.Series]
        /// The newest timestamp and the histogram totals of each series once this pass is sent.
        var newestSent: [Int64: Int64]
        var totals: [Int64: RemoteWriteEncoder.HistogramTotals]
        var outOfOrder: Int
        /// More batches are waiting behind this pass.
        var cut: Bool
    }

    /// Exports the next batches after the cursor; true when more are waiting.
    @discardableResult
    public func pass() async throws -> Bool {
        guard let pass = try prepare(after: try loadCursor()) else {
            try updatePending(after: try loadCursor())
            return false
        }
        adopt(pass)
        guard await send(pass.series), !Task.isCancelled else { return false }
        try commit(pass)
        return pass.cut
    }

    /// Passes until caught up or for about `drainSeconds`, each one read from PostgreSQL while
    /// the shards send the one before: a pass's read and its sends no longer add up (the
    /// exporter was latency-bound, `bench/run export`). The cursor still moves in ledger order,
    /// one pass at a time, after the pass's every request was sent or dropped. True when more
    /// are waiting (`run` claims its lease again, then drains on at once).
    public func drain() async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(drainSeconds)
        var current = try prepare(after: try loadCursor())
        if current == nil { try updatePending(after: try loadCursor()) }
        while let pass = current {
            adopt(pass)
            let readNext = pass.cut && ContinuousClock.now < deadline
            // `send` is not isolated to this actor: it starts at once, and the read below runs
            // on the actor's thread meanwhile.
            async let sent = send(pass.series)
            let following = readNext ? Result { try prepare(after: pass.through) } : .success(nil)
            guard await sent, !Task.isCancelled else { return false }
            try commit(pass)
            if !readNext { return pass.cut }
            current = try following.get()
        }
        return false
    }

    /// The batches after `from` as a pass to send (nil: none are waiting).
    private func prepare(after from: String) throws -> PreparedPass? {
        let (rows, cut) = try nextBatches(after: from)
        guard let last = rows.last else { return nil }
        let (series, newestSent, totals, outOfOrder) = try read(after: from, through: last.tx)
        return PreparedPass(
            through: last.tx, series: series, newestSent: newestSent, totals: totals, outOfOrder: outOfOrder, cut: cut)
    }

    /// Takes a pass's newest timestamps and totals as sent before its requests go out, so that
    /// the next pass, read meanwhile, continues from them. `send` returns only once every
    /// request was sent or dropped (or on shutdown, after which nothing is read again).
    private func adopt(_ pass: PreparedPass) {
        if pass.outOfOrder > 0 { countDropped(pass.outOfOrder, reason: "out_of_order") }
        for (id, ms) in pass.newestSent { lastSentMs[id] = ms }
        for (id, totals) in pass.totals { histogramTotals[id] = totals }
    }

    /// After a pass was sent: the cursor moves past it, in memory first (its samples are sent
    /// whether or not PostgreSQL takes the new cursor now), then in `remote_write_cursors`.
    private func commit(_ pass: PreparedPass) throws {
        cursor = pass.through
        try storeCursor(pass.through)
        try updatePending(after: pass.through)
    }

    static let batchLimit = 500

    private func loadCursor() throws -> String {
        if let cursor { return cursor }
        // A new destination starts at the newest finished batch: it gets what is stored from
        // now on, not the whole retained history (which a receiver would refuse as too old).
        let value = try connector.withConnection { connection in
            try connection.query(
                """
                INSERT INTO remote_write_cursors (destination, tx)
                SELECT $1, coalesce(max(tx), '0'::xid8) FROM ingest_ledger
                WHERE tx < pg_snapshot_xmin(pg_current_snapshot())
                ON CONFLICT (destination) DO NOTHING
                """,
                [settings.name])
            return try connection.query(
                "SELECT tx::text FROM remote_write_cursors WHERE destination = $1", [settings.name]
            ).string(0, 0)
        }
        guard let value else { throw PostgresError(.statement, "remote_write_cursors has no row for the destination") }
        cursor = value
        return value
    }

    private func storeCursor(_ tx: String) throws {
        try connector.withConnection { connection in
            try connection.query(
                "UPDATE remote_write_cursors SET tx = $2::xid8, updated_at = now() WHERE destination = $1",
                [settings.name, tx])
        }
    }

    /// Batches after `from` whose transactions have all finished, in transaction order, up to
    /// `queue.capacity` samples (at least one batch); `cut` when more are waiting behind them
    /// (the next pass starts at once). It used to be true only at `batchLimit` batches, so a
    /// backlog cut by the capacity waited `interval` between passes: 4 700 samples/s with the
    /// default queue, measured by `bench/run export`.
    private func nextBatches(after from: String) throws -> (rows: [LedgerRow], cut: Bool) {
        let result = try connector.withConnection { connection in
            try connection.query(
                """
                SELECT tx::text, samples + coalesce(cardinality(series), 0) FROM ingest_ledger
                WHERE tx > $1::xid8 AND tx < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY tx LIMIT $2::int
                """,
                [from, String(Self.batchLimit)])
        }
        var rows: [LedgerRow] = []
        var total = 0
        for row in 0..<result.rowCount {
            guard let tx = result.string(row, 0) else { continue }
            let samples = Int(result.int(row, 1) ?? 0)
            if !rows.isEmpty, total + samples > settings.capacity { return (rows, true) }
            rows.append(LedgerRow(tx: tx, samples: samples))
            total += samples
        }
        return (rows, result.rowCount == Self.batchLimit)
    }

    /// Queue depth and lag after `from`.
    private func updatePending(after from: String) throws {
        let result = try connector.withConnection { connection in
            try connection.query(
                """
                SELECT count(*), coalesce(sum(samples), 0),
                       round(extract(epoch FROM min(received_at)) * 1000)::bigint
                FROM ingest_ledger WHERE tx > $1::xid8
                """,
                [from])
        }
        let batches = Int(result.int(0, 0) ?? 0)
        let samples = Int(result.int(0, 1) ?? 0)
        let oldest = result.int(0, 2)
        state.withLock {
            $0.pendingBatches = batches
            $0.pendingSamples = samples
            $0.oldestPendingMs = oldest
        }
    }

    /// The samples and histograms of the batches in (from, through], as series to send, with
    /// the newest timestamp and histogram totals each series will have once sent.
    private func read(after from: String, through: String) throws -> (
        [RemoteWriteEncoder.Series], [Int64: Int64], [Int64: RemoteWriteEncoder.HistogramTotals], Int
    ) {
        let (samples, histograms) = try connector.withConnection { connection in
            let batches = """
                SELECT DISTINCT unnest(series) AS sid, lo_ts, hi_ts FROM ingest_ledger
                WHERE tx > $1::xid8 AND tx <= $2::xid8 AND lo_ts IS NOT NULL
                """
            let samples = try connection.query(
                """
                SELECT m.series_id, round(extract(epoch FROM m.ts) * 1000)::bigint, m.value
                FROM (\(batches)) b JOIN metrics m ON m.series_id = b.sid AND m.ts BETWEEN b.lo_ts AND b.hi_ts
                ORDER BY 1, 2
                """,
                [from, through])
            let histograms = try connection.query(
                """
                SELECT h.series_id, round(extract(epoch FROM h.ts) * 1000)::bigint, h.sum, h.zero_count, h.idx, h.cnt,
                       h.min, h.max
                FROM (\(batches)) b JOIN histograms h ON h.series_id = b.sid AND h.ts BETWEEN b.lo_ts AND b.hi_ts
                ORDER BY 1, 2
                """,
                [from, through])
            return (samples, histograms)
        }
        var ids: Set<Int64> = []
        for row in 0..<samples.rowCount { if let id = samples.int(row, 0) { ids.insert(id) } }
        for row in 0..<histograms.rowCount { if let id = histograms.int(row, 0) { ids.insert(id) } }
        try loadSeries(ids.filter { seriesInfo[$0] == nil })

        var out: [RemoteWriteEncoder.Series] = []
        var newLast: [Int64: Int64] = [:]
        var newTotals: [Int64: RemoteWriteEncoder.HistogramTotals] = [:]
        var outOfOrder = 0
        var current: (id: Int64, series: RemoteWriteEncoder.Series)?
        for row in 0..<samples.rowCount {
            guard let id = samples.int(row, 0), let ms = samples.int(row, 1), let value = samples.double(row, 2),
                let labels = seriesInfo[id]?.labels
            else { continue }
            let last = newLast[id] ?? lastSentMs[id] ?? Int64.min
            if ms == last { continue }  // sent already (an overlapping batch, a replayed pass)
            if ms < last {
                outOfOrder += 1
                continue
            }
            newLast[id] = ms
            if current?.id != id {
                if let done = current { out.append(done.series) }
                current = (id, RemoteWriteEncoder.Series(labels: labels))
            }
            current?.series.samples.append(RemoteWriteEncoder.sample(ms, value))
        }
        if let done = current { out.append(done.series) }

        // Histograms: each window adds to the series' running totals, sent as classic series.
        var histogramSeries: [Int64: [RemoteWriteEncoder.Series]] = [:]
        for row in 0..<histograms.rowCount {
            guard let id = histograms.int(row, 0), let ms = histograms.int(row, 1),
                let info = seriesInfo[id], let labels = info.labels
            else { continue }
            let last = newLast[id] ?? lastSentMs[id] ?? Int64.min
            if ms == last { continue }
            if ms < last {
                outOfOrder += 2 + RemoteWriteEncoder.boundaries.count + 1
                continue
            }
            let indexes = histograms.integers(row, 4)
            let counts = histograms.integers(row, 5)
            var buckets: [Int32: UInt64] = [:]
            for (index, count) in zip(indexes, counts) where count > 0 {
                guard let index32 = Int32(exactly: index) else { continue }
                buckets[index32, default: 0] += UInt64(count)
            }
            guard
                let histogram = Histogram(
                    buckets: buckets, zeroCount: UInt64(max(0, histograms.int(row, 3) ?? 0)),
                    sum: histograms.double(row, 2) ?? 0, min: histograms.double(row, 6) ?? 0,
                    max: histograms.double(row, 7) ?? .greatestFiniteMagnitude)
            else {
                countDropped(1, reason: "encoding")
                continue
            }
            newLast[id] = ms
            var totals = newTotals[id] ?? histogramTotals[id] ?? RemoteWriteEncoder.HistogramTotals()
            totals.add(histogram)
            newTotals[id] = totals
            let parts = totals.series(name: info.name, labels: labels)
            var list = histogramSeries[id] ?? parts.map { RemoteWriteEncoder.Series(labels: $0.labels) }
            for (slot, part) in parts.enumerated() {
                list[slot].samples.append(RemoteWriteEncoder.sample(ms, part.value))
            }
            histogramSeries[id] = list
        }
        for id in histogramSeries.keys.sorted() { out.append(contentsOf: histogramSeries[id] ?? []) }
        return (out, newLast, newTotals, outOfOrder)
    }

    /// Names and labels of series not seen yet.
    private func loadSeries(_ ids: Set<Int64>) throws {
        guard !ids.isEmpty else { return }
        // Integers only in the array literal.
        let list = "{" + ids.sorted().map(String.init).joined(separator: ",") + "}"
        let result = try connector.withConnection { connection in
            try connection.query(
                "SELECT id, name, host, labels::text FROM metric_series WHERE id = ANY($1::bigint[])", [list])
        }
        for row in 0..<result.rowCount {
            guard let id = result.int(row, 0), let name = result.string(row, 1), let host = result.string(row, 2)
            else { continue }
            var pairs: [(String, String)] = []
            if let text = result.string(row, 3), case .object(let fields)? = try? JSONParser.parse(text) {
                for (key, value) in fields {
                    if case .string(let string) = value { pairs.append((key, string)) }
                }
            }
            let admitted = filter.admits(name)
            seriesInfo[id] = SeriesInfo(
                name: name,
                labels: admitted ? RemoteWriteEncoder.labels(name: name, host: host, labels: pairs) : nil)
        }
    }

    /// Sends every series, sharded by series (each shard's requests one after another, in
    /// order); true when every request was sent or dropped (false: cancelled).
    @concurrent private nonisolated func send(_ series: [RemoteWriteEncoder.Series]) async -> Bool {
        guard !series.isEmpty else { return true }
        let shards = max(1, settings.maxShards)
        var perShard = Array(repeating: [RemoteWriteEncoder.Series](), count: shards)
        for entry in series { perShard[Int(entry.shardKey % UInt64(shards))].append(entry) }
        let maxSamples = settings.maxSamplesPerSend
        return await withTaskGroup(of: Bool.self) { group in
            for shard in perShard where !shard.isEmpty {
                let requests = RemoteWriteEncoder.requests(shard, maxSamples: maxSamples)
                group.addTask {
                    for request in requests {
                        guard await self.deliver(request) else { return false }
                    }
                    return true
                }
            }
            var all = true
            for await done in group { all = all && done }
            return all
        }
    }

    /// One request until sent or dropped; false when cancelled first.
    private nonisolated func deliver(_ request: Prometheus_WriteRequest) async -> Bool {
        let count = RemoteWriteEncoder.sampleCount(request)
        guard let body = RemoteWriteEncoder.body(request) else {
            countDropped(count, reason: "encoding")
            return true
        }
        var retry = RemoteWriteRetry(
            minBackoffSeconds: settings.minBackoffSeconds, maxBackoffSeconds: settings.maxBackoffSeconds)
        while !Task.isCancelled {
            let attempt: RemoteWriteRetry.Attempt
            do {
                attempt = .status(try await transport.send(body))
            } catch {
                attempt = .failed("\(error)")
            }
            switch retry.decide(attempt) {
            case .sent:
                state.withLock {
                    $0.sent += count
                    $0.lastSuccessMs = WallClock.nowMs()
                    $0.failing = false
                }
                return true
            case .retry(let seconds):
                let problem: String
                switch attempt {
                case .status(let status): problem = "HTTP \(status)"
                case .failed(let error): problem = error
                }
                state.withLock {
                    $0.failed += count
                    $0.lastFailureMs = WallClock.nowMs()
                    $0.lastError = problem
                    $0.failing = true
                }
                if retry.failures == 1 || retry.failures % 20 == 0 {
                    logger.warning(
                        "remote-write request failed; retrying",
                        metadata: [
                            "destination": "\(settings.name)", "target": "\(settings.redactedURL)",
                            "error": "\(problem)", "attempts": "\(retry.failures)", "samples": "\(count)",
                        ])
                }
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            case .drop(let reason):
                countDropped(count, reason: reason)
                state.withLock {
                    $0.lastFailureMs = WallClock.nowMs()
                    $0.lastError = "refused (\(reason)): \(count) samples dropped"
                    $0.failing = false
                }
                logger.error(
                    "remote-write request refused; its samples are dropped",
                    metadata: [
                        "destination": "\(settings.name)", "target": "\(settings.redactedURL)",
                        "reason": "\(reason)", "samples": "\(count)",
                    ])
                return true
            }
        }
        return false
    }

    private nonisolated func countDropped(_ count: Int, reason: String) {
        state.withLock { $0.dropped[reason, default: 0] += count }
    }
}

/// Runs every destination's exporter until shutdown.
public struct RemoteWriteService: Service {
    public let exporters: [RemoteWriteExporter]

    public init(exporters: [RemoteWriteExporter]) { self.exporters = exporters }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for exporter in exporters { group.addTask { await exporter.run() } }
                await group.waitForAll()
            }
        }
    }
}
