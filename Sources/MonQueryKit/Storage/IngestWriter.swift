import Foundation
import Logging
import MonCore

/// Writes batches into PostgreSQL: one transaction per batch, ledger row first
/// (idempotence), samples by binary COPY.
///
/// Runs on its own thread: libpq blocks, and must not block Swift's cooperative pool.
public actor IngestWriter {
    public enum Outcome: Sendable, Equatable {
        /// Stored now; `samples` rows written, `rejected` dropped (out of the accepted time range).
        case stored(samples: Int, rejected: Int)
        /// The ledger already had this (agent, boot, seq): nothing written, ack again.
        case duplicate
    }

    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let connector: PostgresConnector
    private let logger: Logger
    /// Series ids by host, name and labels as decoded: a lookup hashes the label strings
    /// without building the canonical text (`Labels.canonicalKey`), which only a series not
    /// seen yet needs. Series are never deleted, so nothing is ever evicted.
    private var seriesIDs: [SeriesIdentity: Int64] = [:]
    /// Series in `metric_series` per host (loaded at the first new series, then kept up to
    /// date by this writer), for `ingest.max_series_per_host`: exact, since a host's batches
    /// all go to one writer (`IngestWriterPool`).
    private var seriesCounts: [String: Int]?
    /// `ingest.max_series_per_host` and `ingest.max_series`: past them, new series are
    /// dropped (counted) and known ones keep flowing.
    public let seriesCaps: SeriesCaps
    /// The count against `ingest.max_series`, shared with the other writers of a pool.
    public nonisolated let seriesBudget: SeriesBudget
    private var knownPartitions: Set<DayPartition> = []
    /// Batches whose log lines went through `insertLogs` because one was already stored (tests).
    public private(set) var logCopyFallbacks = 0
    /// Batches whose spans went through `INSERT … ON CONFLICT` because one was already stored (tests).
    public internal(set) var spanCopyFallbacks = 0
    /// Samples older than this many days are refused (their partition would be dropped anyway).
    public let maxAgeDays: Int64
    /// Samples further than this in the future are refused (clock skew).
    public let maxFutureMs: Int64 = DayPartition.millisecondsPerDay

    struct SeriesKey: Hashable {
        var host: String
        var name: String
        var labelsKey: String
    }

    struct SeriesIdentity: Hashable {
        var host: String
        var name: String
        var labels: Labels
    }

    /// Receives what each batch stored, after the commit (last-value cache, live log stream).
    private let onCommit: (@Sendable (CommittedBatch) -> Void)?

    /// `seriesBudget`: the `ingest.max_series` count shared with other writers (an
    /// `IngestWriterPool` passes one); nil gives this writer its own, of `seriesCaps.total`.
    /// `name`: the thread's name.
    public init(
        databaseURL: String, password: String? = nil, maxAgeDays: Int64 = 7, seriesCaps: SeriesCaps = SeriesCaps(),
        seriesBudget: SeriesBudget? = nil, name: String = "pg-ingest", logger: Logger,
        onCommit: (@Sendable (CommittedBatch) -> Void)? = nil
    ) {
        self.onCommit = onCommit
        self.seriesCaps = seriesCaps
        self.seriesBudget = seriesBudget ?? SeriesBudget(cap: seriesCaps.total)
        executor = ThreadExecutor(name: name)
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-ingest", password: password)
        self.maxAgeDays = maxAgeDays
        self.logger = logger
    }

    /// Applies pending schema migrations on this writer's connection.
    @discardableResult
    public func migrate() throws -> [Int] {
        try Migrator().migrate(connector, logger: logger)
    }

    /// Creates today's partition and `aheadDays` more, plus yesterday's (late batches).
    public func maintainPartitions(aheadDays: Int, nowMs: Int64) throws {
        let today = DayPartition(timestampMs: nowMs)
        try ensurePartitions((-1...Int64(aheadDays)).map { today.adding(days: $0) })
    }

    /// Forgets that a day's partitions exist (they were dropped by retention).
    func forgetPartition(_ day: DayPartition) { knownPartitions.remove(day) }

    /// Highest seq stored for this (agent, boot); 0 when none.
    public func lastStoredSeq(agentID: String, bootID: String) throws -> UInt64 {
        try connector.withConnection { connection in
            let rows = try connection.query(
                "SELECT coalesce(max(seq), 0) FROM ingest_ledger WHERE agent_id = $1 AND boot_id = $2",
                [agentID, bootID]
            )
            return UInt64(rows.int(0, 0) ?? 0)
        }
    }

    /// Creates the partitions (of every partitioned table) for `days` not known to exist yet.
    public func ensurePartitions(_ days: some Sequence<DayPartition>) throws {
        for day in days where !knownPartitions.contains(day) {
            try connector.withConnection { connection in
                for table in Schema.partitionedTables { try day.createPartition(of: table, connection) }
            }
            knownPartitions.insert(day)
        }
    }

    /// Stores one batch atomically. Throws when PostgreSQL is unavailable: the caller must not ack.
    /// What was stored is then handed to `onCommit`.
    public func store(_ batch: Batch, from agent: AgentIdentity, nowMs: Int64) throws -> Outcome {
        try storeCounting(batch, from: agent, nowMs: nowMs).outcome
    }

    /// `store`, and what was left out of the batch, by reason: samples and records outside the
    /// accepted time range, series or records breaking `SeriesLimits` / `IngestLimits`, new
    /// series past the caps. Everything else of the batch is stored.
    ///
    /// `prepared`: the batch's log lines cleaned and encoded beforehand (`prepareLogs`, off this
    /// writer's thread); used when every line is stored, else they are encoded here.
    public func storeCounting(
        _ batch: Batch, from agent: AgentIdentity, nowMs: Int64, prepared: PreparedLogs? = nil
    ) throws -> (outcome: Outcome, dropped: IngestDrops) {
        let oldest = DayPartition(timestampMs: nowMs).adding(days: -maxAgeDays)
        let newest = nowMs + maxFutureMs
        var days: Set<DayPartition> = []
        var dropped = IngestDrops()
        func admit(_ timestampMs: Int64) -> Bool {
            let day = DayPartition(timestampMs: timestampMs)
            guard day >= oldest, timestampMs <= newest else {
                dropped.add(.timeRange)
                return false
            }
            days.insert(day)
            return true
        }
        func valid(_ problem: IngestDrop?) -> Bool {
            guard let problem else { return true }
            dropped.add(problem)
            return false
        }
        let inRange = batch.samples.filter { admit($0.timestampMs) }
        // Statement bundles (`pg_statements`) are stored as the `pg_statement` events they hold.
        var malformedBundles = 0
        let events = StatementBundle.expanding(batch.events, malformed: &malformedBundles).filter {
            admit($0.timestampMs) && valid(IngestLimits.problem($0) ?? (Self.isJSONObject($0.payload) ? nil : .event))
        }
        let histogramsInRange = batch.histograms.filter { admit($0.timestampMs) && valid(IngestLimits.problem($0)) }
        let logs = batch.logs.filter { admit($0.timestampMs) && valid(IngestLimits.problem($0)) }
        let spans = batch.spans.filter { admit(Self.startMs($0)) && valid(IngestLimits.problem($0)) }
        dropped.add(.histogram, batch.droppedOnDecode)
        dropped.add(.event, malformedBundles)
        try ensurePartitions(days)
        let sampleIDs = try resolveSeries(
            inRange.map { SeriesRef(name: $0.name, labels: $0.labels, kind: $0.kind.name) }, host: agent.host,
            dropped: &dropped)
        let histogramIDs = try resolveSeries(
            histogramsInRange.map { SeriesRef(name: $0.name, labels: $0.labels, kind: "histogram") }, host: agent.host,
            dropped: &dropped)
        let (accepted, ids) = Self.resolved(inRange, sampleIDs)
        let (histograms, histogramSeries) = Self.resolved(histogramsInRange, histogramIDs)
        let copyData = MetricsCopyEncoder.encode(accepted, seriesIDs: ids)
        let createdMs = IngestLimits.plausibleCreatedMs(batch.createdMs, nowMs: nowMs)
        let stored: (Outcome, [StoredLog]) = try connector.transaction { connection in
            let ledger = try connection.query(
                """
                INSERT INTO ingest_ledger (agent_id, boot_id, seq, host, samples, batch_ts, lo_ts, hi_ts, series)
                VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision / 1000),
                        to_timestamp($7::double precision / 1000), to_timestamp($8::double precision / 1000),
                        $9::bigint[])
                ON CONFLICT DO NOTHING
                """,
                [
                    agent.agentID, agent.bootID, String(batch.seq), agent.host, String(accepted.count),
                    String(createdMs),
                ] + Self.exportRange(accepted, ids, histograms, histogramSeries)
            )
            guard ledger.affectedRows == 1 else { return (.duplicate, []) }
            if !accepted.isEmpty {
                try connection.copyIn("COPY metrics (ts, series_id, value) FROM STDIN (FORMAT binary)", data: copyData)
            }
            if !events.isEmpty {
                try connection.query(
                    """
                    INSERT INTO events (ts, host, kind, key, payload)
                    SELECT to_timestamp(e.ts::double precision / 1000), $2, e.kind, e.key, e.payload::jsonb
                    FROM jsonb_to_recordset($1::jsonb) AS e(ts bigint, kind text, key text, payload text)
                    """,
                    [Self.eventsJSON(events), agent.host]
                )
            }
            if !histograms.isEmpty {
                try connection.copyIn(
                    """
                    COPY histograms (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
                    FROM STDIN (FORMAT binary)
                    """,
                    data: HistogramCopyEncoder.encode(histograms, seriesIDs: histogramSeries)
                )
            }
            let ready = prepared.flatMap { $0.matches(logs, host: agent.host) ? $0 : nil }
            let storedLogs = logs.isEmpty ? [] : try storeLogs(logs, prepared: ready, host: agent.host, connection)
            if !spans.isEmpty { _ = try storeSpans(spans, host: agent.host, connection) }
            try Self.queueLateRange(samples: accepted, histograms: histograms, events: events, connection)
            return (.stored(samples: accepted.count, rejected: dropped.total), storedLogs)
        }
        if case .stored = stored.0, let onCommit {
            onCommit(CommittedBatch(host: agent.host, samples: accepted, histograms: histograms, logs: stored.1))
        }
        return (stored.0, stored.0 == .duplicate ? IngestDrops() : dropped)
    }

    /// The ledger's `lo_ts`, `hi_ts` and `series` of a batch (what remote-write export reads):
    /// the time range of its samples and histograms and their distinct series; NULLs when it
    /// stored neither.
    static func exportRange(
        _ samples: [Sample], _ sampleIDs: [Int64], _ histograms: [HistogramSample], _ histogramIDs: [Int64]
    ) -> [String?] {
        var lo = Int64.max
        var hi = Int64.min
        for sample in samples {
            lo = min(lo, sample.timestampMs)
            hi = max(hi, sample.timestampMs)
        }
        for sample in histograms {
            lo = min(lo, sample.timestampMs)
            hi = max(hi, sample.timestampMs)
        }
        guard lo <= hi else { return [nil, nil, nil] }
        // Integers only: the array literal is built from ids, never from text.
        let series = Set(sampleIDs).union(histogramIDs).sorted().map(String.init).joined(separator: ",")
        return [String(lo), String(hi), "{\(series)}"]
    }

    /// The items whose series resolved, with their ids.
    private static func resolved<T>(_ items: [T], _ ids: [Int64?]) -> ([T], [Int64]) {
        guard ids.contains(nil) else { return (items, ids.map { $0! }) }
        var kept: [T] = []
        var keptIDs: [Int64] = []
        for (item, id) in zip(items, ids) {
            guard let id else { continue }
            kept.append(item)
            keptIDs.append(id)
        }
        return (kept, keptIDs)
    }

    /// Records the batch's time range for the rollup when it reaches into the minutes a rollup
    /// pass has claimed (a late batch or a spool replay), statement events included. `FOR SHARE`
    /// on the claim row orders this transaction with the pass's claim (which locks it
    /// `FOR UPDATE` only to advance it, `RollupWriter.claim`): either the pass's computation,
    /// which starts after the claim commits, sees these rows, or this transaction sees the
    /// advanced claim and queues the range.
    static func queueLateRange(
        samples: [Sample], histograms: [HistogramSample], events: [Event] = [], _ connection: PostgresConnection
    ) throws {
        var lo = Int64.max
        var hi = Int64.min
        for sample in samples {
            lo = min(lo, sample.timestampMs)
            hi = max(hi, sample.timestampMs)
        }
        for sample in histograms {
            lo = min(lo, sample.timestampMs)
            hi = max(hi, sample.timestampMs)
        }
        // Statement deltas are summed per hour (`statements_1h`).
        for event in events where event.kind == "pg_statement" {
            lo = min(lo, event.timestampMs)
            hi = max(hi, event.timestampMs)
        }
        guard lo <= hi else { return }
        try connection.query(
            """
            WITH w AS (SELECT watermark FROM rollup_state WHERE tier = '1m_claimed' FOR SHARE)
            INSERT INTO rollup_pending (lo, hi)
            SELECT to_timestamp($1::double precision / 1000), to_timestamp($2::double precision / 1000)
            FROM w WHERE w.watermark IS NOT NULL AND to_timestamp($1::double precision / 1000) <= w.watermark
            """,
            [String(lo), String(hi)]
        )
    }

    /// Stores log records and returns those stored, with their ids, in id order.
    ///
    /// One binary `COPY` with ids taken from the sequence first (about 30 % less of
    /// PostgreSQL's time per row than `INSERT … RETURNING`; BENCHMARKS.md, log tailing), under a
    /// savepoint. A line already stored (same host, file, offset and time: the agent re-read
    /// it, say after a restart) makes the `COPY` fail on `logs_line_idx`; the batch's lines then
    /// go through `insertLogs`, which skips those already there.
    private func storeLogs(
        _ logs: [LogRecord], prepared: PreparedLogs?, host: String, _ connection: PostgresConnection
    ) throws -> [StoredLog] {
        let taken = try connection.query(
            "SELECT nextval('logs_id_seq') FROM generate_series(1, $1::int)", [String(logs.count)])
        var ids: [Int64] = []
        ids.reserveCapacity(logs.count)
        for row in 0..<taken.rowCount {
            guard let id = taken.int(row, 0) else { break }
            ids.append(id)
        }
        guard ids.count == logs.count else {
            throw PostgresError(.statement, "logs_id_seq gave \(ids.count) ids for \(logs.count) log records")
        }
        // Cleaned once, for the COPY and for what is returned.
        let ready = prepared ?? PreparedLogs(logs, host: host)
        let cleaned = ready.cleaned
        try connection.query("SAVEPOINT logs_copy")
        let alreadyStored: Bool
        do {
            try connection.copyIn(
                "COPY logs (\(LogsCopyEncoder.columns)) FROM STDIN (FORMAT binary)", data: ready.rows.filled(ids: ids))
            alreadyStored = false
        } catch {
            // (A `catch … where` on the typed error crashes Swift 6.3's ownership verifier.)
            guard error.sqlState == "23505" else { throw error }  // unique_violation
            alreadyStored = true
        }
        if alreadyStored {
            try connection.query("ROLLBACK TO SAVEPOINT logs_copy")
            logCopyFallbacks += 1
            return try insertLogs(logs, host: host, connection)
        }
        try connection.query("RELEASE SAVEPOINT logs_copy")
        // Sorted by id, as `insertLogs` returns them: the ids were taken in the records' order.
        return zip(cleaned, ids).map { record, id in StoredLog(id: id, host: host, record: record) }
    }

    /// A batch's log lines cleaned and encoded for `COPY` before the batch is stored: the
    /// ingest server prepares the next batch while this writer stores the one before it.
    /// `storeCounting` uses it when every line of the batch is to be stored.
    public struct PreparedLogs: Sendable {
        /// The records as received, as cleaned, and as `COPY` rows without their ids.
        let received: [LogRecord]
        let cleaned: [LogRecord]
        let rows: LogsCopyEncoder.Rows
        let host: String

        public init(_ logs: [LogRecord], host: String) {
            received = logs
            cleaned = logs.map(IngestWriter.cleaned)
            rows = LogsCopyEncoder.rows(cleaned, host: host)
            self.host = host
        }

        /// True when these are `logs` of `host` (the same records: none was left out).
        func matches(_ logs: [LogRecord], host: String) -> Bool {
            self.host == host && received.count == logs.count && received == logs
        }
    }

    /// `text` without NUL characters, which PostgreSQL text cannot hold.
    static func clean(_ text: String) -> String {
        hasNUL(text) ? text.replacingOccurrences(of: "\u{0}", with: "") : text
    }

    /// True when `text` holds a NUL character (`memchr` on its UTF-8: the generic
    /// `utf8.contains` was a tenth of the daemon's CPU per log line).
    static func hasNUL(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, 0, bytes.count) != nil
        } ?? text.utf8.contains(0)
    }

    /// `log` as it is stored: NUL characters removed (PostgreSQL text cannot hold them), fields
    /// that are not a JSON object as `{}` (the same as `logsJSON` writes).
    static func cleaned(_ log: LogRecord) -> LogRecord {
        var record = log
        record.service = clean(log.service)
        record.event = clean(log.event)
        record.logger = log.logger.map(clean)
        record.traceID = log.traceID.map(clean)
        record.source = clean(log.source)
        if !isJSONObject(log.fields) { record.fields = "{}" }
        return record
    }

    /// Inserts log records (a line already stored — same file, offset and time — is skipped)
    /// and returns those stored, with their ids.
    private func insertLogs(_ logs: [LogRecord], host: String, _ connection: PostgresConnection) throws -> [StoredLog] {
        let rows = try connection.query(
            """
            INSERT INTO logs (ts, host, service, level, event, logger, trace_id, fields, source, "offset")
            SELECT to_timestamp(r.ts::double precision / 1000), $2, r.service, r.level, r.event, r.logger,
                   r.trace_id, r.fields::jsonb, r.source, r."offset"
            FROM jsonb_to_recordset($1::jsonb) AS r(
                ts bigint, service text, level smallint, event text, logger text, trace_id text,
                fields text, source text, "offset" bigint)
            ON CONFLICT DO NOTHING
            RETURNING id, (extract(epoch FROM ts) * 1000)::bigint, service, level, event, logger, trace_id,
                      fields::text, source, "offset"
            """,
            [Self.logsJSON(logs), host]
        )
        var stored: [StoredLog] = []
        stored.reserveCapacity(rows.rowCount)
        for row in 0..<rows.rowCount {
            guard let id = rows.int(row, 0), let ts = rows.int(row, 1), let level = rows.int(row, 3) else { continue }
            let record = LogRecord(
                timestampMs: ts, level: LogLevel(rawValue: Int(level)) ?? .info, service: rows.string(row, 2) ?? "",
                event: rows.string(row, 4) ?? "", logger: rows.string(row, 5), traceID: rows.string(row, 6),
                fields: rows.string(row, 7) ?? "{}", source: rows.string(row, 8) ?? "", offset: rows.int(row, 9) ?? 0)
            stored.append(StoredLog(id: id, host: host, record: record))
        }
        return stored.sorted { $0.id < $1.id }
    }

    /// Log records for `jsonb_to_recordset`; NUL characters (which PostgreSQL text cannot hold)
    /// are removed, and fields that are not a JSON object become `{}`.
    static func logsJSON(_ logs: [LogRecord]) -> String {
        // Written straight to bytes (the same text as a `JSONValue` of the records would
        // encode to): this runs on every log line the daemon stores.
        var out: [UInt8] = []
        out.reserveCapacity(logs.reduce(2) { $0 + 128 + $1.event.utf8.count + $1.fields.utf8.count * 5 / 4 })
        func field(_ name: StaticString, _ first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: "\":".utf8)
        }
        func optional(_ text: String?) {
            if let text { JSONValue.writeString(clean(text), to: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        out.append(UInt8(ascii: "["))
        for (index, log) in logs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            field("ts", true)
            JSONValue.writeNumber(Double(log.timestampMs), to: &out)
            field("service")
            JSONValue.writeString(clean(log.service), to: &out)
            field("level")
            JSONValue.writeNumber(Double(log.level.rawValue), to: &out)
            field("event")
            JSONValue.writeString(clean(log.event), to: &out)
            field("logger")
            optional(log.logger)
            field("trace_id")
            optional(log.traceID)
            field("fields")
            JSONValue.writeString(isJSONObject(log.fields) ? log.fields : "{}", to: &out)
            field("source")
            JSONValue.writeString(clean(log.source), to: &out)
            field("offset")
            JSONValue.writeNumber(Double(log.offset), to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `text` parses as a JSON object (an invalid payload must not poison the batch).
    static func isJSONObject(_ text: String) -> Bool {
        guard text.first == "{" else { return false }
        if JSONObjectCheck.isObject(text) {
            // Without an escape (no `\u0000`, no lone surrogate) what MonCore's strict parser
            // accepts, Foundation accepts too; this decides the agents' usual fields on the
            // bytes, building nothing. Anything else goes to Foundation below.
            return true
        }
        // PostgreSQL's jsonb refuses the NUL character.
        guard !text.contains("\\u0000"),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        else { return false }
        return object is [String: Any]
    }

    /// `[{"ts": ..., "kind": ..., "key": ..., "payload": "<json text>"}]` for `jsonb_to_recordset`.
    static func eventsJSON(_ events: [Event]) -> String {
        JSONValue.array(
            events.map { event in
                .object([
                    ("ts", .number(Double(event.timestampMs))), ("kind", .string(event.kind)),
                    ("key", .string(event.key)), ("payload", .string(event.payload)),
                ])
            }
        ).encoded()
    }

    /// What identifies a series (with the host), and its kind for `metric_series.kind`.
    struct SeriesRef {
        var name: String
        var labels: Labels
        var kind: String
    }

    /// Series ids for each reference, in order, creating unknown series in one round trip; nil
    /// for a reference left out (counted in `dropped`): a series breaking `SeriesLimits`, or a
    /// new one past the caps. Only series not seen yet are checked: a known one was valid.
    private func resolveSeries(_ refs: [SeriesRef], host: String, dropped: inout IngestDrops) throws -> [Int64?] {
        var ids: [Int64?] = []
        ids.reserveCapacity(refs.count)
        var unresolved: [Int] = []
        var missing: [SeriesKey: SeriesRef] = [:]
        for (index, ref) in refs.enumerated() {
            if let id = seriesIDs[SeriesIdentity(host: host, name: ref.name, labels: ref.labels)] {
                ids.append(id)
            } else if let problem = SeriesLimits.problem(name: ref.name, labels: ref.labels) {
                ids.append(nil)
                dropped.add(problem)
            } else {
                ids.append(nil)
                unresolved.append(index)
                missing[SeriesKey(host: host, name: ref.name, labelsKey: ref.labels.canonicalKey)] = ref
            }
        }
        guard !missing.isEmpty else { return ids }
        try createSeries(missing, host: host)
        for index in unresolved {
            let ref = refs[index]
            if let id = seriesIDs[SeriesIdentity(host: host, name: ref.name, labels: ref.labels)] {
                ids[index] = id
            } else {
                dropped.add(seriesCapReason(host: host))
            }
        }
        return ids
    }

    /// Creates the missing series within the caps; at a cap, only those already in
    /// `metric_series` (created before, or by another daemon) are resolved. The room under
    /// `ingest.max_series` is granted by `seriesBudget` before the insert, and what no new row
    /// used is given back after it, so writers inserting at once never pass the cap together.
    private func createSeries(_ missing: [SeriesKey: SeriesRef], host: String) throws {
        let counts = try loadSeriesCounts()
        let room = seriesBudget.reserve(min(missing.count, seriesCaps.perHost - (counts[host] ?? 0)))
        var inserted = 0
        defer { seriesBudget.release(room - inserted) }
        guard missing.count > room else {
            inserted = try insertSeries(missing)
            return
        }
        try lookUpSeries(missing)
        let new = missing.filter {
            seriesIDs[SeriesIdentity(host: $0.key.host, name: $0.value.name, labels: $0.value.labels)] == nil
        }
        guard room > 0, !new.isEmpty else { return }
        let admitted = new.sorted { ($0.key.name, $0.key.labelsKey) < ($1.key.name, $1.key.labelsKey) }.prefix(room)
        inserted = try insertSeries(Dictionary(uniqueKeysWithValues: admitted.map { ($0.key, $0.value) }))
    }

    /// Which cap keeps a new series of `host` out.
    private func seriesCapReason(host: String) -> IngestDrop {
        (seriesCounts?[host] ?? 0) >= seriesCaps.perHost ? .hostSeriesCap : .globalSeriesCap
    }

    /// Series per host in `metric_series`, read once (and the shared total, by the first
    /// writer of a pool to read it).
    private func loadSeriesCounts() throws -> [String: Int] {
        if let seriesCounts { return seriesCounts }
        let counts = try connector.withConnection { connection in
            let rows = try connection.query("SELECT host, count(*) FROM metric_series GROUP BY host")
            var counts: [String: Int] = [:]
            for row in 0..<rows.rowCount {
                guard let host = rows.string(row, 0), let count = rows.int(row, 1) else { continue }
                counts[host] = Int(count)
            }
            return counts
        }
        seriesCounts = counts
        seriesBudget.start(loaded: counts.values.reduce(0, +))
        return counts
    }

    /// Resolves those of `missing` that exist already, without creating any.
    private func lookUpSeries(_ missing: [SeriesKey: SeriesRef]) throws {
        let keys = JSONValue.array(
            missing.keys.map {
                .object([("host", .string($0.host)), ("name", .string($0.name)), ("labels_key", .string($0.labelsKey))])
            }
        ).encoded()
        try connector.withConnection { connection in
            // One index probe per key (LATERAL), whatever the statistics of metric_series say.
            let found = try connection.query(
                """
                SELECT s.id, r.host, r.name, r.labels_key
                FROM jsonb_to_recordset($1::jsonb) AS r(host text, name text, labels_key text)
                CROSS JOIN LATERAL (
                    SELECT id FROM metric_series m
                    WHERE m.host = r.host AND m.name = r.name AND m.labels_key = r.labels_key
                ) s
                """,
                [keys]
            )
            _ = remember(found, missing: missing, countInserted: false)
        }
    }

    /// Records the ids of `found` (rows of id, host, name, labels_key[, inserted]); the number
    /// of rows that were new (`countInserted`), added to the per-host counts.
    private func remember(
        _ found: PostgresResult, missing: [SeriesKey: SeriesRef], countInserted: Bool
    ) -> Int {
        var inserted = 0
        for row in 0..<found.rowCount {
            guard let id = found.int(row, 0), let host = found.string(row, 1), let name = found.string(row, 2),
                let labelsKey = found.string(row, 3)
            else { continue }
            guard let ref = missing[SeriesKey(host: host, name: name, labelsKey: labelsKey)] else { continue }
            seriesIDs[SeriesIdentity(host: host, name: name, labels: ref.labels)] = id
            if countInserted, found.string(row, 4) == "t" {
                seriesCounts?[host, default: 0] += 1
                inserted += 1
            }
        }
        return inserted
    }

    /// Inserts (or finds) the series of `missing`; the number of rows that were new.
    private func insertSeries(_ missing: [SeriesKey: SeriesRef]) throws -> Int {
        struct Row: Encodable {
            var host: String
            var name: String
            var labels_key: String
            var labels: [String: String]
            var kind: String
        }
        // Sorted so that two connections creating overlapping sets take the row locks in one order.
        let rows = missing.sorted {
            ($0.key.host, $0.key.name, $0.key.labelsKey) < ($1.key.host, $1.key.name, $1.key.labelsKey)
        }
        .map { key, ref in
            Row(
                host: key.host,
                name: key.name,
                labels_key: key.labelsKey,
                labels: Dictionary(ref.labels.pairs.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                kind: ref.kind
            )
        }
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        // One statement that always goes through the unique index: the ids of new rows and of rows
        // that another daemon connection created meanwhile both come back from RETURNING. (A separate
        // SELECT … JOIN jsonb_to_recordset lookup was quadratic while metric_series had no statistics:
        // 44.6 s for 20 000 new series of one metric, see BENCHMARKS.md.) The no-op update on a
        // conflict is what makes RETURNING report the existing row; `missing` has each key once.
        return try connector.withConnection { connection in
            let found = try connection.query(
                """
                INSERT INTO metric_series (host, name, labels_key, labels, kind)
                SELECT host, name, labels_key, labels, kind
                FROM jsonb_to_recordset($1::jsonb) AS r(host text, name text, labels_key text, labels jsonb, kind text)
                ON CONFLICT (host, name, labels_key) DO UPDATE SET labels_key = EXCLUDED.labels_key
                RETURNING id, host, name, labels_key, xmax = 0
                """,
                [json]
            )
            // `xmax = 0`: the row is new (not the existing row of a conflict), for the caps' counts.
            return remember(found, missing: missing, countInserted: true)
        }
    }
}
