import Foundation
import MonCore

extension QueryStore {
    /// One stored event: host, key, time and its JSON payload (parsed).
    public struct EventRow: Sendable {
        public var host: String
        public var key: String
        public var timestampMs: Int64
        public var payload: JSONText
    }

    /// JSON kept as text; parsed on demand by the API layer.
    public struct JSONText: Sendable {
        public var text: String
        public init(_ text: String) { self.text = text }

        /// The parsed payload, or nil when it is not JSON.
        public var value: JSONValue? { JSONValue.parse(text) }
    }

    /// The latest event of `kind` per (host, key) within the range.
    public func latestEvents(kind: String, host: String?, range: TimeRange, limit: Int = 1000) throws -> [EventRow] {
        try connector.withConnection { connection -> [EventRow] in
            let rows = try connection.query(
                """
                SELECT DISTINCT ON (host, key) host, key, (extract(epoch FROM ts) * 1000)::bigint, payload::text
                FROM events
                WHERE kind = $1 AND ($2::text IS NULL OR host = $2)
                  AND ts >= to_timestamp($3::double precision) AND ts <= to_timestamp($4::double precision)
                ORDER BY host, key, ts DESC
                LIMIT $5
                """,
                [kind, host, range.startSeconds, range.endSeconds, String(limit)]
            )
            return Self.eventRows(rows)
        }
    }

    /// Events of `kind`, newest first.
    public func events(kind: String, host: String?, range: TimeRange, limit: Int) throws -> [EventRow] {
        try connector.withConnection { connection -> [EventRow] in
            let rows = try connection.query(
                """
                SELECT host, key, (extract(epoch FROM ts) * 1000)::bigint, payload::text
                FROM events
                WHERE kind = $1 AND ($2::text IS NULL OR host = $2)
                  AND ts >= to_timestamp($3::double precision) AND ts <= to_timestamp($4::double precision)
                ORDER BY ts DESC
                LIMIT $5
                """,
                [kind, host, range.startSeconds, range.endSeconds, String(limit)]
            )
            return Self.eventRows(rows)
        }
    }

    static func eventRows(_ rows: PostgresResult) -> [EventRow] {
        (0..<rows.rowCount).compactMap { row in
            guard let host = rows.string(row, 0), let key = rows.string(row, 1), let ms = rows.int(row, 2),
                let payload = rows.string(row, 3)
            else { return nil }
            return EventRow(host: host, key: key, timestampMs: ms, payload: JSONText(payload))
        }
    }

    /// A statement aggregated over a period from its per-interval deltas.
    public struct StatementSummary: Sendable {
        public var host: String
        public var key: String
        public var queryid: String
        public var database: String
        public var query: String?
        public var calls: Double
        public var totalMs: Double
        public var worstIntervalMeanMs: Double
        public var maxMsSinceReset: Double
        public var rows: Double
        public var sharedHit: Double
        public var sharedRead: Double
        /// The latest `pg_plan` event payload for this statement, if any.
        public var plan: JSONText?
    }

    /// Statements ranked by total execution time in the range, with their latest plan.
    ///
    /// Hours the rollup has summed come from `statements_1h`, the rest from the raw events
    /// (`StatementPlan`), read in one snapshot.
    public func slowStatements(host: String?, range: TimeRange, limit: Int) throws -> [StatementSummary] {
        try connector.transaction { connection -> [StatementSummary] in
            try connection.execute(rawSQL: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let plan = try StatementPlan(range: range, connection)
            let rows = try connection.query(
                """
                WITH src AS (
                    SELECT host, key, \(StatementColumns.names)
                    FROM statements_1h
                    WHERE ($1::text IS NULL OR host = $1)
                      AND ts >= to_timestamp($5::double precision / 1000) AND ts < to_timestamp($6::double precision / 1000)
                    UNION ALL
                    SELECT e.host, e.key, \(StatementColumns.fromEvents)
                    FROM events e
                    WHERE e.kind = 'pg_statement' AND ($1::text IS NULL OR e.host = $1)
                      AND ((e.ts >= to_timestamp($7::double precision / 1000)
                            AND e.ts < to_timestamp($5::double precision / 1000))
                           OR (e.ts >= to_timestamp($6::double precision / 1000)
                               AND e.ts <= to_timestamp($3::double precision)))
                    GROUP BY e.host, e.key
                ), s AS (
                    SELECT host, key, \(StatementColumns.fromSummaries)
                    FROM src
                    GROUP BY host, key
                    ORDER BY total_ms DESC NULLS LAST
                    LIMIT $4
                )
                SELECT s.host, s.key, s.queryid, s.database, q.query, s.calls, s.total_ms, s.worst_mean_ms, s.max_ms,
                       s.rows, s.hit, s.read, p.payload::text
                FROM s
                -- The text of the statement's latest event that has one (only for the statements kept).
                LEFT JOIN LATERAL (
                    SELECT e.payload->>'query' AS query FROM events e
                    WHERE e.kind = 'pg_statement' AND e.host = s.host AND e.key = s.key
                      AND e.ts >= to_timestamp($2::double precision) AND e.ts <= to_timestamp($3::double precision)
                      AND e.payload->>'query' IS NOT NULL
                    ORDER BY e.ts DESC LIMIT 1
                ) q ON true
                LEFT JOIN LATERAL (
                    SELECT payload FROM events e
                    WHERE e.kind = 'pg_plan' AND e.host = s.host AND e.key = s.key
                      AND e.ts >= to_timestamp($2::double precision) - interval '1 day'
                      AND e.ts <= to_timestamp($3::double precision)
                    ORDER BY e.ts DESC LIMIT 1
                ) p ON true
                ORDER BY s.total_ms DESC NULLS LAST
                """,
                [
                    host, range.startSeconds, range.endSeconds, String(limit), String(plan.hoursFromMs),
                    String(plan.hoursToMs), String(plan.headFromMs),
                ]
            )
            return (0..<rows.rowCount).map { row in
                StatementSummary(
                    host: rows.string(row, 0) ?? "",
                    key: rows.string(row, 1) ?? "",
                    queryid: rows.string(row, 2) ?? "",
                    database: rows.string(row, 3) ?? "",
                    query: rows.string(row, 4),
                    calls: rows.double(row, 5) ?? 0,
                    totalMs: rows.double(row, 6) ?? 0,
                    worstIntervalMeanMs: rows.double(row, 7) ?? 0,
                    maxMsSinceReset: rows.double(row, 8) ?? 0,
                    rows: rows.double(row, 9) ?? 0,
                    sharedHit: rows.double(row, 10) ?? 0,
                    sharedRead: rows.double(row, 11) ?? 0,
                    plan: rows.string(row, 12).map(JSONText.init)
                )
            }
        }
    }

    /// How much a counter grew over the range per (host, labels), counting resets as restarts
    /// from 0. Reads the last value of each rollup unit where the tier plan allows (a reset
    /// inside one unit is then seen as a reset at the unit's end). A series' first sample is
    /// its baseline; when that first row is a rollup unit, the growth inside the unit (from
    /// its first raw sample, while raw rows are kept) counts too — a counter that starts at 0
    /// inside a minute already rolled up is not lost. The step does not matter: minute rows
    /// up to the first whole hour, hour rows after it (`TierPlan(aggregating:)`); six-hour
    /// rows are never read (a reset would lose up to six hours of growth).
    public func increase(name: String, host: String?, range: TimeRange) throws -> [(
        host: String, labels: [String: String], value: Double
    )] {
        try connector.withConnection { connection -> [(host: String, labels: [String: String], value: Double)] in
            let plan = TierPlan(aggregating: range, watermarkMs: try RollupWriter.watermarkMs(connection))
            let query = Self.increaseQuery(name: name, host: host, plan: plan)
            let rows = try connection.query(query.sql, query.parameters)
            return (0..<rows.rowCount).map { row in
                (rows.string(row, 0) ?? "", Self.decodeLabels(rows.string(row, 1)), rows.double(row, 2) ?? 0)
            }
        }
    }

    public static func increaseQuery(name: String, host: String?, plan: TierPlan) -> (
        sql: String, parameters: [String?]
    ) {
        let filter = "SELECT id FROM metric_series WHERE name = $1 AND ($2::text IS NULL OR host = $2)"
        let sql = """
            SELECT s.host, s.labels::text, \(SQLNumbers.doubleSum("CASE WHEN d.delta >= 0 THEN d.delta ELSE d.value END"))
            FROM (
                SELECT src.series_id, \(SQLNumbers.clamped("src.last")) AS value,
                       COALESCE(
                           \(SQLNumbers.clamped("src.last"))
                           - lag(\(SQLNumbers.clamped("src.last"))) OVER (PARTITION BY src.series_id ORDER BY src.last_ts),
                           \(plan.firstUnitIncrease(value: SQLNumbers.clamped("src.last"), firstRaw: SQLNumbers.clamped("m.value")))
                       ) AS delta
                FROM (\(plan.metricsSource(seriesFilter: filter))) AS src (series_id, ts, sum, count, last, last_ts)
            ) d
            JOIN metric_series s ON s.id = d.series_id
            WHERE d.delta IS NOT NULL
            GROUP BY s.host, s.labels::text
            """
        return (sql, [name, host])
    }
}

extension TimeRange {
    var startSeconds: String { String(Double(startMs) / 1000) }
    var endSeconds: String { String(Double(endMs) / 1000) }
}
