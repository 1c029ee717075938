import Logging
import MonCore
import ServiceLifecycle

/// What one rollup pass did.
public struct RollupPass: Sendable, Equatable {
    /// Minute ranges recomputed (each `[startMs, endMs)`), merged.
    public var minuteRanges: [ClosedOpenRange] = []
    /// Late ranges taken from `rollup_pending` (and deleted).
    public var lateRanges = 0
    /// The watermark after the pass: every raw minute before it is rolled up.
    public var watermarkMs: Int64?
    /// False while the pass stopped at its chunk limit or left late ranges queued.
    public var caughtUp = true
    /// Units passed over because their rows could not be rolled up (see `RollupFailures`).
    public var skipped: [SkippedRollupRange] = []

    public var minutes: Int64 { minuteRanges.reduce(0) { $0 + ($1.endMs - $1.startMs) / 60_000 } }
}

/// Maintains `metrics_1m`/`metrics_1h` (min, max, sum, count, last per series) and
/// `histograms_1m`/`histograms_1h` (merged buckets) from the raw tables.
///
/// Every minute is recomputed whole from raw rows and upserted, so recomputing it again
/// gives the same row: a pass killed half-way (its transaction rolls back) or repeated after
/// a restart neither skips nor double-counts. A pass:
/// 1. claims the next closed minutes (at most `chunkMinutes`) in a short transaction that
///    advances the `1m_claimed` row of `rollup_state` (`claim(target:)`; ingest locks that row
///    `FOR SHARE`, so a batch committing concurrently is either seen by the computation or
///    queues itself as late);
/// 2. then, in one transaction, takes up to `pendingLimit` late ranges from `rollup_pending`,
///    recomputes those minutes plus the claimed ones, then the hours containing them from the
///    minute rows, deletes the late ranges it read and advances the `1m` watermark (readers
///    take minute and hour rows up to it) to the end of the claim.
/// A pass that dies between the two leaves the claim ahead of the watermark; the next pass
/// computes those minutes again.
public actor RollupWriter {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector
    /// A minute is rolled up once it ended this long ago (batches are normally in by then;
    /// later ones are queued as late and folded in).
    public let settleMs: Int64
    public let chunkMinutes: Int64
    public let pendingLimit: Int
    private var knownPartitions: Set<DayPartition> = []
    /// Consecutive failed passes at one watermark (see `RollupFailures`).
    public private(set) var failures = RollupFailures()

    public init(
        databaseURL: String, password: String? = nil, settleSeconds: Int = 15, chunkMinutes: Int = 60,
        pendingLimit: Int = 500
    ) {
        executor = ThreadExecutor(name: "pg-rollup")
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-rollup", password: password)
        settleMs = Int64(settleSeconds) * 1000
        self.chunkMinutes = Int64(chunkMinutes)
        self.pendingLimit = pendingLimit
    }

    /// Current watermark (nil before the first pass).
    public func watermarkMs() throws -> Int64? {
        try connector.withConnection { try Self.watermarkMs($0) }
    }

    static func watermarkMs(_ connection: PostgresConnection) throws -> Int64? {
        try connection.query(
            "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'"
        ).int(0, 0)
    }

    /// Passes until caught up (or `maxPasses`); returns the passes done.
    @discardableResult
    public func catchUp(nowMs: Int64, maxPasses: Int = 100_000) throws -> [RollupPass] {
        var passes: [RollupPass] = []
        while passes.count < maxPasses {
            let pass = try runPass(nowMs: nowMs)
            passes.append(pass)
            if pass.caughtUp { break }
        }
        return passes
    }

    /// One pass (see the type's documentation). After `RollupFailures.attemptsBeforeSkipping`
    /// failures at the same watermark, the pass goes unit by unit and skips what fails.
    public func runPass(nowMs: Int64) throws -> RollupPass {
        let target = ClosedOpenRange.floor(nowMs - settleMs, 60_000)
        try ensureRollupPartitions(until: target)
        var startMs: Int64?
        do {
            let pass = try pass(target: target) { startMs = $0 }
            failures.passSucceeded()
            return pass
        } catch {
            if let startMs { failures.passFailed(watermarkMs: startMs, error: error) }
            throw error
        }
    }

    private func pass(target: Int64, started: (Int64) -> Void) throws -> RollupPass {
        let (start, end) = try claim(target: target)
        started(start)
        return try connector.transaction { connection -> RollupPass in
            let isolate = failures.mustIsolate(watermarkMs: start)
            var pass = RollupPass()
            var ranges: [ClosedOpenRange] = []
            let pending = try connection.query(
                """
                SELECT id, (extract(epoch FROM lo) * 1000)::bigint, (extract(epoch FROM hi) * 1000)::bigint
                FROM rollup_pending ORDER BY id LIMIT $1
                """,
                [String(pendingLimit)]
            )
            var pendingIDs: [Int64] = []
            for row in 0..<pending.rowCount {
                guard let id = pending.int(row, 0), let lo = pending.int(row, 1), let hi = pending.int(row, 2) else {
                    continue
                }
                pendingIDs.append(id)
                // A histogram window ending exactly on a minute belongs to the minute before.
                ranges.append(ClosedOpenRange(lo - 1, max(lo, hi) + 1).aligned(to: 60_000))
            }
            pass.lateRanges = pendingIDs.count
            try computing?()
            let late = ClosedOpenRange.merged(ranges)
            let fresh = end > start ? ClosedOpenRange(start, end) : nil
            if let fresh { ranges.append(fresh) }
            pass.minuteRanges = ClosedOpenRange.merged(ranges)
            try ensureRollupPartitions(covering: pass.minuteRanges)
            for range in pass.minuteRanges {
                pass.skipped += try Self.rollUp(range, tier: .minute, isolated: isolate, connection) { unit in
                    try Self.rollUpMetrics(unit, into: .minute, connection)
                    try Self.rollUpHistograms(unit, into: .minute, connection)
                }
            }
            for tier in [StorageTier.hour, .sixHours] {
                pass.skipped += try Self.rollUpCoarse(
                    tier, late: late, fresh: fresh, isolated: isolate, connection)
            }
            let watermark = max(start, end)
            for range in ClosedOpenRange.merged(pass.minuteRanges.map { $0.aligned(to: 3_600_000) }) {
                pass.skipped += try Self.rollUp(range, tier: .hour, isolated: isolate, connection) { unit in
                    try Self.rollUpStatements(unit, until: watermark, connection)
                }
                // The first hour rolled up after the migration that added `statements_1h`:
                // from it on, every hour is there whole.
                try connection.query(
                    """
                    UPDATE rollup_state SET watermark = to_timestamp($1::double precision / 1000)
                    WHERE tier = 'statements_1h' AND watermark IS NULL
                    """,
                    [String(range.startMs)])
            }
            if !pendingIDs.isEmpty {
                try connection.query(
                    "DELETE FROM rollup_pending WHERE id = ANY($1::bigint[])", [PostgresArray.integers(pendingIDs)])
            }
            try connection.query(
                "UPDATE rollup_state SET watermark = to_timestamp($1::double precision / 1000) WHERE tier = '1m'",
                [String(watermark)])
            pass.watermarkMs = watermark
            pass.caughtUp = end >= target && pendingIDs.count < pendingLimit
            return pass
        }
    }

    /// Claims the minutes this pass computes, in a short transaction of its own: `[start, end)`
    /// where `start` is the `1m` watermark (how far the minutes are computed). Normally the pass
    /// claims the next closed minutes (at most `chunkMinutes`) by advancing the `1m_claimed`
    /// row to `end`. When that row is already ahead, a pass claimed those minutes and did not
    /// commit (it failed, or the daemon died): this pass computes exactly them again, claiming
    /// nothing more, so `RollupFailures` sees the same watermark fail again.
    ///
    /// Why two rows and two transactions: ingest locks `1m_claimed` `FOR SHARE` while it decides
    /// whether its batch lies behind it (`IngestWriter.queueLateRange`). Locking it `FOR UPDATE`
    /// here waits for the batches that decided "ahead" to commit, so the computation, which
    /// starts after this commit, sees their rows; every batch deciding later sees the advanced
    /// claim and queues its range in `rollup_pending`. The lock is held for this transaction
    /// only: before, the pass held it while it computed (seconds at hundreds of hosts), and
    /// every agent's batch waited (BENCHMARKS.md, "Hosts per daemon").
    func claim(target: Int64) throws -> (start: Int64, end: Int64) {
        try connector.transaction { connection in
            let state = try connection.query(
                """
                SELECT (extract(epoch FROM c.watermark) * 1000)::bigint,
                       (SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m')
                FROM rollup_state c WHERE c.tier = '1m_claimed' FOR UPDATE
                """)
            guard state.rowCount == 1 else {
                throw PostgresError(.statement, "rollup_state has no '1m_claimed' row: run `monquery migrate`")
            }
            let start = try state.int(0, 1) ?? Self.oldestRawMs(connection) ?? target
            if let claimed = state.int(0, 0), claimed > start { return (start, claimed) }
            let end = min(target, start + chunkMinutes * 60_000)
            if end > start {
                try connection.query(
                    "UPDATE rollup_state SET watermark = to_timestamp($1::double precision / 1000) WHERE tier = '1m_claimed'",
                    [String(end)])
            }
            return (start, end)
        }
    }

    /// Called by a pass inside the transaction that computes, after it read the late ranges (tests hold a pass there).
    var computing: (() throws -> Void)?

    /// Sets `computing` (tests).
    func onComputing(_ hook: (() throws -> Void)?) { computing = hook }

    /// Start of the oldest raw partition (the first pass starts there), or nil when none.
    static func oldestRawMs(_ connection: PostgresConnection) throws -> Int64? {
        let rows = try connection.query(
            """
            SELECT c.relname, p.relname
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname IN ('metrics', 'histograms') AND p.relnamespace = current_schema()::regnamespace
            """
        )
        var oldest: DayPartition?
        for row in 0..<rows.rowCount {
            guard let name = rows.string(row, 0), let table = rows.string(row, 1),
                let day = DayPartition(partitionName: name, of: table)
            else { continue }
            oldest = min(oldest ?? day, day)
        }
        return oldest?.startMs
    }

    /// Fills `tier` for the units of `late` ranges (minutes recomputed this pass) and the
    /// minutes of `fresh` (the ones newly claimed).
    ///
    /// A unit touched by a late range is recomputed whole from the finer tier (already
    /// current for this pass). Any other unit only gains the fresh minutes: their minute
    /// rows are merged into its row (min, max, sums, counts and last value are associative).
    /// No minute is merged twice: fresh minutes lie after the `1m` watermark, which advances
    /// in the same transaction as the merge. So a pass costs the minutes it claimed, not the
    /// whole hour (or six hours) around them — at hundreds of hosts, recomputing the current
    /// hour from its minute rows every pass was most of the rollup's work.
    static func rollUpCoarse(
        _ tier: StorageTier, late: [ClosedOpenRange], fresh: ClosedOpenRange?, isolated: Bool,
        _ connection: PostgresConnection
    ) throws -> [SkippedRollupRange] {
        let whole = ClosedOpenRange.merged(late.map { $0.aligned(to: tier.unitMs) })
        var skipped: [SkippedRollupRange] = []
        for range in whole {
            skipped += try rollUp(range, tier: tier, isolated: isolated, connection) { unit in
                try rollUpMetrics(unit, into: tier, connection)
                try rollUpHistograms(unit, into: tier, connection)
            }
        }
        for piece in fresh?.subtracting(whole) ?? [] {
            skipped += try rollUp(piece, tier: tier, isolated: isolated, connection) { minutes in
                try mergeMetrics(minutes, into: tier, connection)
                try mergeHistograms(minutes, into: tier, connection)
            }
        }
        return skipped
    }

    /// `min, max, sum, count, last, last_ts` of raw samples (`fromRaw`) or of rollup rows.
    /// The last value is the one of the greatest `[epoch, value]` pair: no per-group sort (an
    /// ordered array_agg sorted every group's rows; same choice as QueryStore.seriesQuery).
    /// Sums never raise on huge values (SQLNumbers): one 1e308 must not block the pass.
    static func metricsAggregates(fromRaw: Bool) -> String {
        fromRaw
            ? "min(value), max(value), \(SQLNumbers.doubleSum("value")), count(*), "
                + "(max(ARRAY[date_part('epoch', ts), value]))[2], max(ts)"
            : "min(min), max(max), \(SQLNumbers.doubleSum("sum")), \(SQLNumbers.countSum("count")), "
                + "(max(ARRAY[date_part('epoch', last_ts), last]))[2], max(last_ts)"
    }

    /// Recomputes the `tier` rows of the units in `range` from the finer tier's rows (raw
    /// samples for minutes), replacing them.
    static func rollUpMetrics(_ range: ClosedOpenRange, into tier: StorageTier, _ connection: PostgresConnection)
        throws
    {
        // Table names and units are constants of StorageTier, not input.
        try connection.query(
            """
            INSERT INTO \(tier.table("metrics")) (ts, series_id, min, max, sum, count, last, last_ts)
            SELECT \(tier.unitStart("ts")), series_id, \(metricsAggregates(fromRaw: tier.finer == .raw))
            FROM \(tier.finer.table("metrics"))
            WHERE ts >= to_timestamp($1::double precision / 1000) AND ts < to_timestamp($2::double precision / 1000)
            GROUP BY 1, 2
            ON CONFLICT (series_id, ts) DO UPDATE
            SET min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum, count = EXCLUDED.count,
                last = EXCLUDED.last, last_ts = EXCLUDED.last_ts
            """,
            [String(range.startMs), String(range.endMs)]
        )
    }

    /// Merges the minute rows of `minutes` into the `tier` rows of their units (see
    /// `rollUpCoarse`): the same figures as recomputing the units, up to the order of
    /// floating-point additions.
    static func mergeMetrics(_ minutes: ClosedOpenRange, into tier: StorageTier, _ connection: PostgresConnection)
        throws
    {
        let lastPair = { (row: String) in "ARRAY[date_part('epoch', \(row).last_ts), \(row).last]" }
        try connection.query(
            """
            INSERT INTO \(tier.table("metrics")) AS t (ts, series_id, min, max, sum, count, last, last_ts)
            SELECT \(tier.unitStart("ts")), series_id, \(metricsAggregates(fromRaw: false))
            FROM metrics_1m
            WHERE ts >= to_timestamp($1::double precision / 1000) AND ts < to_timestamp($2::double precision / 1000)
            GROUP BY 1, 2
            ON CONFLICT (series_id, ts) DO UPDATE
            SET min = least(t.min, EXCLUDED.min), max = greatest(t.max, EXCLUDED.max),
                sum = \(SQLNumbers.clamped("t.sum")) + \(SQLNumbers.clamped("EXCLUDED.sum")),
                count = \(SQLNumbers.count("t.count::numeric + EXCLUDED.count")),
                last = (greatest(\(lastPair("t")), \(lastPair("EXCLUDED"))))[2],
                last_ts = greatest(t.last_ts, EXCLUDED.last_ts)
            """,
            [String(minutes.startMs), String(minutes.endMs)]
        )
    }

    /// Sums the `pg_statement` events (pg_stat_statements deltas) with `ts` in `range` (whole
    /// hours) and before `watermarkMs` per host, statement and hour into `statements_1h`,
    /// replacing those hours' rows: the hour holding the watermark is summed up to it, so a
    /// query reads that hour's row plus the raw events from the watermark on (`StatementPlan`).
    /// The payload's numbers go through `SQLNumbers.jsonDouble` here, once per event, so
    /// `/postgres/slow_queries` sums a few hour rows instead of casting every event.
    static func rollUpStatements(_ range: ClosedOpenRange, until watermarkMs: Int64, _ connection: PostgresConnection)
        throws
    {
        try connection.query(
            """
            INSERT INTO statements_1h (ts, host, key, queryid, database, calls, total_ms, worst_mean_ms, max_ms,
                                       rows, hit, read)
            SELECT date_trunc('hour', e.ts, 'UTC'), e.host, e.key, \(StatementColumns.fromEvents)
            FROM events e
            WHERE e.kind = 'pg_statement'
              AND e.ts >= to_timestamp($1::double precision / 1000) AND e.ts < to_timestamp($2::double precision / 1000)
            GROUP BY 1, 2, 3
            ON CONFLICT (host, key, ts) DO UPDATE
            SET queryid = EXCLUDED.queryid, database = EXCLUDED.database, calls = EXCLUDED.calls,
                total_ms = EXCLUDED.total_ms, worst_mean_ms = EXCLUDED.worst_mean_ms, max_ms = EXCLUDED.max_ms,
                rows = EXCLUDED.rows, hit = EXCLUDED.hit, read = EXCLUDED.read
            """,
            [String(range.startMs), String(min(range.endMs, max(range.startMs, watermarkMs)))]
        )
    }

    /// `SELECT` of `(ts, series_id, count, sum, min, max, zero_count, idx, cnt)`: the `source`
    /// rows matching `filter` merged into one row per series and `tier` unit. A row's `ts` is
    /// the end of its unit (windows are stamped with their end).
    static func mergedHistograms(source: String, tier: StorageTier, filter: String) -> String {
        """
        WITH w AS (
            SELECT \(tier.unitEnd("ts")) AS e, series_id, count, sum, min, max, zero_count, idx, cnt
            FROM \(source) WHERE \(filter)
        ), t AS (
            SELECT e, series_id, \(SQLNumbers.countSum("count")) AS count, \(SQLNumbers.doubleSum("sum")) AS sum,
                   min(min) AS min, max(max) AS max, \(SQLNumbers.countSum("zero_count")) AS zero_count
            FROM w GROUP BY 1, 2
        ), b AS (
            SELECT w.e, w.series_id, u.i, \(SQLNumbers.countSum("u.c")) AS c
            FROM w, unnest(w.idx, w.cnt) AS u(i, c)
            GROUP BY 1, 2, 3
        ), a AS (
            SELECT e, series_id, array_agg(i ORDER BY i) AS idx, array_agg(c ORDER BY i) AS cnt
            FROM b GROUP BY 1, 2
        )
        SELECT t.e, t.series_id, t.count, t.sum, t.min, t.max, t.zero_count,
               coalesce(a.idx, '{}'), coalesce(a.cnt, '{}')
        FROM t LEFT JOIN a ON a.e = t.e AND a.series_id = t.series_id
        """
    }

    /// The windows (or finer units) with `ts` in `(start, end]` of `range`.
    private static let windowFilter =
        "ts > to_timestamp($1::double precision / 1000) AND ts <= to_timestamp($2::double precision / 1000)"

    /// Recomputes the `tier` histogram rows of the units in `range` from the finer tier's rows
    /// (raw windows for minutes), replacing them. A window ending exactly on a unit boundary
    /// belongs to the unit before, so `range` selects `ts` in `(start, end]`.
    static func rollUpHistograms(_ range: ClosedOpenRange, into tier: StorageTier, _ connection: PostgresConnection)
        throws
    {
        try connection.query(
            """
            INSERT INTO \(tier.table("histograms")) (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
            \(mergedHistograms(source: tier.finer.table("histograms"), tier: tier, filter: windowFilter))
            ON CONFLICT (series_id, ts) DO UPDATE
            SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
                zero_count = EXCLUDED.zero_count, idx = EXCLUDED.idx, cnt = EXCLUDED.cnt
            """,
            [String(range.startMs), String(range.endMs)]
        )
    }

    /// Merges the minute rows of `minutes` into the `tier` histogram rows of their units (see
    /// `rollUpCoarse`); buckets present in both add up.
    static func mergeHistograms(_ minutes: ClosedOpenRange, into tier: StorageTier, _ connection: PostgresConnection)
        throws
    {
        try connection.query(
            """
            INSERT INTO \(tier.table("histograms")) AS t (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
            \(mergedHistograms(source: "histograms_1m", tier: tier, filter: windowFilter))
            ON CONFLICT (series_id, ts) DO UPDATE
            SET count = \(SQLNumbers.count("t.count::numeric + EXCLUDED.count")),
                sum = \(SQLNumbers.clamped("t.sum")) + \(SQLNumbers.clamped("EXCLUDED.sum")),
                min = least(t.min, EXCLUDED.min), max = greatest(t.max, EXCLUDED.max),
                zero_count = \(SQLNumbers.count("t.zero_count::numeric + EXCLUDED.zero_count")),
                (idx, cnt) = (
                    SELECT coalesce(array_agg(m.i ORDER BY m.i), '{}'), coalesce(array_agg(m.c ORDER BY m.i), '{}')
                    FROM (
                        SELECT u.i, \(SQLNumbers.countSum("u.c")) AS c
                        FROM unnest(t.idx || EXCLUDED.idx, t.cnt || EXCLUDED.cnt) AS u(i, c)
                        GROUP BY u.i
                    ) m)
            """,
            [String(minutes.startMs), String(minutes.endMs)]
        )
    }

    /// Creates, outside the pass's transaction (DDL would lock the parents for its length),
    /// the rollup partitions from the oldest raw or late data through `until`'s day.
    private func ensureRollupPartitions(until endMs: Int64) throws {
        try connector.withConnection { connection in
            let bounds = try connection.query(
                """
                SELECT (extract(epoch FROM least(
                           (SELECT watermark FROM rollup_state WHERE tier = '1m'),
                           (SELECT min(lo) FROM rollup_pending))) * 1000)::bigint
                """)
            let from = try bounds.int(0, 0) ?? Self.oldestRawMs(connection) ?? endMs
            try createPartitions(from: from, through: endMs + StorageTier.sixHours.unitMs, connection)
        }
    }

    private func ensureRollupPartitions(covering ranges: [ClosedOpenRange]) throws {
        guard let first = ranges.first, let last = ranges.last else { return }
        try connector.withConnection { connection in
            try createPartitions(from: first.startMs, through: last.endMs + StorageTier.sixHours.unitMs, connection)
        }
    }

    private func createPartitions(from startMs: Int64, through endMs: Int64, _ connection: PostgresConnection) throws {
        var day = DayPartition(timestampMs: startMs)
        let last = DayPartition(timestampMs: endMs)
        while day <= last {
            if !knownPartitions.contains(day) {
                for table in Schema.rollupTables { try day.createPartition(of: table, connection) }
                knownPartitions.insert(day)
            }
            day = day.adding(days: 1)
        }
    }

    /// Forgets partitions dropped by retention.
    public func forgetPartitions() { knownPartitions.removeAll() }
}

/// Runs rollup passes: back to back while behind, then every `every`. With a `lease`, only
/// while this instance holds the rollups lease (several daemons on one database).
public struct RollupService: Service {
    let writer: RollupWriter
    let every: Duration
    /// Where failed passes and skipped ranges are counted for `/metrics` (none in tests).
    let stats: IngestStats?
    let lease: Lease?
    let logger: Logger

    public init(
        writer: RollupWriter, every: Duration = .seconds(10), stats: IngestStats? = nil, lease: Lease? = nil,
        logger: Logger
    ) {
        self.writer = writer
        self.every = every
        self.stats = stats
        self.lease = lease
        self.logger = logger
    }

    public func run() async throws {
        try await PeriodicService(
            name: "rollups", schedule: .every(every), maxFailurePause: .seconds(60), logger: logger,
            onFailure: { [writer, stats, logger] error, tick in
                await stats?.rollupPassFailed()
                let atWatermark = await writer.failures.consecutive
                logger.error(
                    "rollup pass failed; retrying",
                    metadata: [
                        "error": "\(error)", "failures": "\(tick.consecutiveFailures)",
                        "data_failures_at_watermark": "\(atWatermark)",
                    ])
            }
        ) { [self] tick in
            try await pass(nowMs: tick.timestampMs)
        }.run()
    }

    /// One rollup pass; `.again` while it stopped at its chunk limit or left late ranges queued.
    private func pass(nowMs: Int64) async throws -> PeriodicService<Void>.Outcome {
        // Another instance rolls up; a pass here would recompute the same minutes (correct,
        // but twice the work).
        if let lease, await !lease.claim(.rollups).mayRun { return .next }
        let pass = try await writer.runPass(nowMs: nowMs)
        for skip in pass.skipped {
            logger.error(
                "rollup range skipped: its rows failed every attempt; recorded in rollup_skipped",
                metadata: [
                    "tier": "\(skip.tier)", "from": "\(Timestamp.iso8601(ms: skip.range.startMs))",
                    "to": "\(Timestamp.iso8601(ms: skip.range.endMs))", "error": "\(skip.error)",
                ])
            await stats?.rollupRangeSkipped()
        }
        if pass.lateRanges > 0 {
            logger.info(
                "folded late batches into the rollups",
                metadata: ["ranges": "\(pass.lateRanges)", "minutes": "\(pass.minutes)"])
        }
        return pass.caughtUp ? .next : .again(after: .milliseconds(10))
    }
}
