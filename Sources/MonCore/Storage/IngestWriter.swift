import Foundation
import Logging

/// Who sent a batch: from the agent's HELLO.
public struct AgentIdentity: Sendable, Hashable {
    public var agentID: String
    public var host: String
    public var bootID: String

    public init(agentID: String, host: String, bootID: String) {
        self.agentID = agentID
        self.host = host
        self.bootID = bootID
    }
}

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

    private let connector: PostgresConnector
    private let logger: Logger
    private var seriesIDs: [SeriesKey: Int64] = [:]
    private var knownPartitions: Set<DayPartition> = []
    /// Samples older than this many days are refused (their partition would be dropped anyway).
    public let maxAgeDays: Int64
    /// Samples further than this in the future are refused (clock skew).
    public let maxFutureMs: Int64 = DayPartition.millisecondsPerDay

    struct SeriesKey: Hashable {
        var host: String
        var name: String
        var labelsKey: String
    }

    public init(databaseURL: String, password: String? = nil, maxAgeDays: Int64 = 7, logger: Logger) {
        executor = ThreadExecutor(name: "pg-ingest")
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
            let next = day.adding(days: 1)
            try connector.withConnection { connection in
                for table in Schema.partitionedTables {
                    // DDL takes no bind parameters; the name and bounds come from an integer day.
                    try connection.execute(
                        rawSQL: """
                            CREATE TABLE IF NOT EXISTS \(day.partitionName(of: table)) PARTITION OF \(table)
                            FOR VALUES FROM ('\(day.startLiteral)') TO ('\(next.startLiteral)')
                            """
                    )
                }
            }
            knownPartitions.insert(day)
        }
    }

    /// Stores one batch atomically. Throws when PostgreSQL is unavailable: the caller must not ack.
    public func store(_ batch: Batch, from agent: AgentIdentity, nowMs: Int64) throws -> Outcome {
        let oldest = DayPartition(timestampMs: nowMs).adding(days: -maxAgeDays)
        let newest = nowMs + maxFutureMs
        var accepted: [Sample] = []
        accepted.reserveCapacity(batch.samples.count)
        var days: Set<DayPartition> = []
        for sample in batch.samples {
            let day = DayPartition(timestampMs: sample.timestampMs)
            guard day >= oldest, sample.timestampMs <= newest else { continue }
            days.insert(day)
            accepted.append(sample)
        }
        var events: [Event] = []
        for event in batch.events {
            let day = DayPartition(timestampMs: event.timestampMs)
            guard day >= oldest, event.timestampMs <= newest, Self.isJSONObject(event.payload) else { continue }
            days.insert(day)
            events.append(event)
        }
        try ensurePartitions(days)
        let ids = try resolveSeries(accepted, host: agent.host)
        let copyData = MetricsCopyEncoder.encode(accepted, seriesIDs: ids)
        return try connector.transaction { connection in
            let ledger = try connection.query(
                """
                INSERT INTO ingest_ledger (agent_id, boot_id, seq, host, samples, batch_ts)
                VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision / 1000))
                ON CONFLICT DO NOTHING
                """,
                [
                    agent.agentID, agent.bootID, String(batch.seq), agent.host, String(accepted.count),
                    String(batch.createdMs),
                ]
            )
            guard ledger.affectedRows == 1 else { return .duplicate }
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
            let rejected = batch.samples.count - accepted.count + batch.events.count - events.count
            return .stored(samples: accepted.count, rejected: rejected)
        }
    }

    /// True when `text` parses as a JSON object (an invalid payload must not poison the batch).
    static func isJSONObject(_ text: String) -> Bool {
        // PostgreSQL's jsonb refuses the NUL character.
        guard text.first == "{", !text.contains("\\u0000"),
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

    /// Series ids for each sample, in order, creating unknown series in one round trip.
    private func resolveSeries(_ samples: [Sample], host: String) throws -> [Int64] {
        var keys: [SeriesKey] = []
        keys.reserveCapacity(samples.count)
        var missing: [SeriesKey: Sample] = [:]
        for sample in samples {
            let key = SeriesKey(host: host, name: sample.name, labelsKey: sample.labels.canonicalKey)
            keys.append(key)
            if seriesIDs[key] == nil { missing[key] = sample }
        }
        if !missing.isEmpty {
            try createSeries(missing)
        }
        return try keys.map { key in
            guard let id = seriesIDs[key] else {
                throw PostgresError(.statement, "series \(key.name){\(key.labelsKey)} could not be resolved")
            }
            return id
        }
    }

    private func createSeries(_ missing: [SeriesKey: Sample]) throws {
        struct Row: Encodable {
            var host: String
            var name: String
            var labels_key: String
            var labels: [String: String]
            var kind: String
        }
        let rows = missing.map { key, sample in
            Row(
                host: key.host,
                name: key.name,
                labels_key: key.labelsKey,
                labels: Dictionary(sample.labels.pairs.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                kind: sample.kind.name
            )
        }
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        try connector.withConnection { connection in
            try connection.query(
                """
                INSERT INTO metric_series (host, name, labels_key, labels, kind)
                SELECT host, name, labels_key, labels, kind
                FROM jsonb_to_recordset($1::jsonb) AS r(host text, name text, labels_key text, labels jsonb, kind text)
                ON CONFLICT (host, name, labels_key) DO NOTHING
                """,
                [json]
            )
            let found = try connection.query(
                """
                SELECT s.id, s.host, s.name, s.labels_key
                FROM metric_series s
                JOIN jsonb_to_recordset($1::jsonb) AS r(host text, name text, labels_key text)
                  ON s.host = r.host AND s.name = r.name AND s.labels_key = r.labels_key
                """,
                [json]
            )
            for row in 0..<found.rowCount {
                guard let id = found.int(row, 0), let host = found.string(row, 1), let name = found.string(row, 2),
                    let labelsKey = found.string(row, 3)
                else { continue }
                seriesIDs[SeriesKey(host: host, name: name, labelsKey: labelsKey)] = id
            }
        }
    }
}
