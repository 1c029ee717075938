import MonCore

/// Calls and mean execution time of a few statements per time bucket over a period (the
/// slow-statement timeline of `/postgres/slow_queries/timeline` and the dashboard).
///
/// Buckets start at multiples of the step since the epoch (as the API page's heatmap), the
/// first one holding the period's start. A step of whole hours reads the hour rollup
/// (`statements_1h`) where it has summed the hours and raw `pg_statement` events around it
/// (`StatementPlan`); a shorter step reads raw events only, whose deltas it places by time.
public enum StatementTimeline {
    public struct Bucket: Sendable, Equatable {
        public var startMs: Int64
        public var calls: Double
        /// Total execution time over calls; nil when the bucket has no call.
        public var meanMs: Double?

        public init(startMs: Int64, calls: Double, meanMs: Double?) {
            self.startMs = startMs
            self.calls = calls
            self.meanMs = meanMs
        }
    }

    /// One bucket's sums as the store reads them.
    public struct Row: Sendable, Equatable {
        public var host: String
        public var key: String
        public var startMs: Int64
        public var calls: Double
        public var totalMs: Double

        public init(host: String, key: String, startMs: Int64, calls: Double, totalMs: Double) {
            (self.host, self.key, self.startMs, self.calls, self.totalMs) = (host, key, startMs, calls, totalMs)
        }
    }

    /// The default step: about a dozen buckets under six hours (at least the minute, statement
    /// deltas arriving every minute or so), the hour up to two days, six hours up to eight,
    /// then the day.
    public static func defaultStepSeconds(_ range: TimeRange) -> Int64 {
        switch range.periodSeconds {
        case ..<21_600: max(60, TimeRange.niceSteps.first { $0 >= range.periodSeconds / 12 } ?? 3_600)
        case ...172_800: 3_600
        case ...691_200: 21_600
        default: 86_400
        }
    }

    /// Whether a step can be served by the hour rollup (its buckets hold whole hours).
    static func readsHourRows(stepSeconds: Int64) -> Bool { stepSeconds % 3_600 == 0 }

    /// Bucket starts covering `range` at `stepSeconds`.
    public static func columns(_ range: TimeRange, stepSeconds: Int64) -> [Int64] {
        let step = max(1, stepSeconds) * 1_000
        let first = ClosedOpenRange.floor(range.startMs, step)
        return Array(stride(from: first, to: max(range.endMs, first + 1), by: Int(step)))
    }

    /// Every column of one statement, empty buckets with 0 calls and no mean. Rows outside
    /// the columns are ignored; non-finite or negative sums count as nothing.
    public static func buckets(_ rows: [Row], columns: [Int64]) -> [Bucket] {
        var sums: [Int64: (calls: Double, total: Double)] = [:]
        for row in rows {
            let calls = row.calls.isFinite && row.calls > 0 ? row.calls : 0
            let total = row.totalMs.isFinite && row.totalMs > 0 ? row.totalMs : 0
            sums[row.startMs, default: (0, 0)].calls += calls
            sums[row.startMs, default: (0, 0)].total += total
        }
        return columns.map { start in
            let sum = sums[start] ?? (0, 0)
            return Bucket(startMs: start, calls: sum.calls, meanMs: sum.calls > 0 ? sum.total / sum.calls : nil)
        }
    }
}

extension QueryStore {
    /// Per-bucket calls and total time of the statements `(host, key)` over `range`.
    public func statementTimeline(statements: [(host: String, key: String)], range: TimeRange, stepSeconds: Int64)
        throws -> [StatementTimeline.Row]
    {
        guard !statements.isEmpty else { return [] }
        return try connector.transaction { connection -> [StatementTimeline.Row] in
            try connection.execute(rawSQL: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let plan: StatementPlan
            if StatementTimeline.readsHourRows(stepSeconds: stepSeconds) {
                plan = try StatementPlan(range: range, connection)
            } else {
                plan = StatementPlan(range: range, rolledFromMs: nil, watermarkMs: nil)
            }
            let rows = try connection.query(
                """
                WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w (host, key)),
                src AS (
                    SELECT h.host, h.key, h.ts, h.calls, h.total_ms
                    FROM statements_1h h JOIN wanted w ON w.host = h.host AND w.key = h.key
                    WHERE h.ts >= to_timestamp($4::double precision / 1000)
                      AND h.ts < to_timestamp($5::double precision / 1000)
                    UNION ALL
                    SELECT e.host, e.key, e.ts, \(SQLNumbers.jsonDouble("e.payload", "calls")),
                           \(SQLNumbers.jsonDouble("e.payload", "total_exec_ms"))
                    FROM events e JOIN wanted w ON w.host = e.host AND w.key = e.key
                    WHERE e.kind = 'pg_statement'
                      AND ((e.ts >= to_timestamp($6::double precision / 1000)
                            AND e.ts < to_timestamp($4::double precision / 1000))
                           OR (e.ts >= to_timestamp($5::double precision / 1000)
                               AND e.ts <= to_timestamp($7::double precision / 1000)))
                )
                SELECT host, key, (floor(date_part('epoch', ts) / $3) * $3 * 1000)::bigint,
                       \(SQLNumbers.doubleSum("calls")), \(SQLNumbers.doubleSum("total_ms"))
                FROM src
                GROUP BY 1, 2, 3
                ORDER BY 1, 2, 3
                """,
                [
                    PostgresArray.text(statements.map { $0.host }), PostgresArray.text(statements.map { $0.key }),
                    String(stepSeconds), String(plan.hoursFromMs), String(plan.hoursToMs), String(plan.headFromMs),
                    String(range.endMs),
                ]
            )
            return (0..<rows.rowCount).map { row in
                StatementTimeline.Row(
                    host: rows.string(row, 0) ?? "", key: rows.string(row, 1) ?? "", startMs: rows.int(row, 2) ?? 0,
                    calls: rows.double(row, 3) ?? 0, totalMs: rows.double(row, 4) ?? 0)
            }
        }
    }
}
