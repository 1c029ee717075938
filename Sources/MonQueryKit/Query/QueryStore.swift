import Foundation
import Logging
import MonCore

/// Read-side queries for the HTTP API, on its own PostgreSQL connection and thread.
///
/// Every query is bounded in time so partition pruning applies, and uses bound parameters only.
public actor QueryStore {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector
    /// Requests queued on or running on this store's thread (`QueryStorePool`).
    public nonisolated var load: Int { executor.load }

    public init(databaseURL: String, password: String? = nil, name: String = "pg-query") {
        executor = ThreadExecutor(name: name)
        // JIT off: API, alert and anomaly reads are many short statements, each planned anew;
        // PostgreSQL compiled every one estimated above `jit_above_cost` (the week's charts,
        // the fleet's request statistics), which cost more than the statement itself saved.
        connector = PostgresConnector(
            url: databaseURL, applicationName: "monquery-api", password: password, jit: false)
    }

    /// Round trip to the database, in seconds (for `/health`).
    public func ping() throws -> Double {
        let start = ContinuousClock.now
        try connector.withConnection { connection in _ = try connection.query("SELECT 1") }
        return start.duration(to: .now).seconds
    }

    /// What `/health/detailed` reads from the database.
    public struct HealthProbe: Sendable {
        public var latencySeconds: Double
        public var watermarkMs: Int64?
        public var pendingRanges: Int64
        /// `data_directory`, when this role may read it.
        public var dataDirectory: String?
        /// Rollup units passed over (`rollup_skipped`), and the latest one.
        public var skippedRanges: Int64 = 0
        public var lastSkipped: (tier: String, range: ClosedOpenRange, atMs: Int64)?
    }

    public struct ProbeError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Round trip, rollup watermark and late queue, data directory; the error when unreachable.
    public func probe() -> Result<HealthProbe, ProbeError> {
        let start = ContinuousClock.now
        do {
            return .success(
                try connector.withConnection { connection in
                    _ = try connection.query("SELECT 1")
                    let latency = start.duration(to: .now).seconds
                    let rows = try connection.query(
                        """
                        SELECT (SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'),
                               (SELECT count(*) FROM rollup_pending),
                               CASE WHEN pg_has_role(current_user, 'pg_read_all_settings', 'USAGE')
                                    THEN current_setting('data_directory') END,
                               (SELECT count(*) FROM rollup_skipped), k.tier,
                               (extract(epoch FROM k.lo) * 1000)::bigint, (extract(epoch FROM k.hi) * 1000)::bigint,
                               (extract(epoch FROM k.skipped_at) * 1000)::bigint
                        FROM (SELECT 1) one
                        LEFT JOIN (SELECT * FROM rollup_skipped ORDER BY id DESC LIMIT 1) k ON true
                        """)
                    var probe = HealthProbe(
                        latencySeconds: latency, watermarkMs: rows.int(0, 0), pendingRanges: rows.int(0, 1) ?? 0,
                        dataDirectory: rows.string(0, 2))
                    probe.skippedRanges = rows.int(0, 3) ?? 0
                    if let tier = rows.string(0, 4), let lo = rows.int(0, 5), let hi = rows.int(0, 6),
                        let at = rows.int(0, 7)
                    {
                        probe.lastSkipped = (tier, ClosedOpenRange(lo, hi), at)
                    }
                    return probe
                })
        } catch {
            return .failure(ProbeError(description: "\(error)"))
        }
    }

    /// The tier plan for `range` (reads the rollup watermark).
    func plan(_ range: TimeRange, _ connection: PostgresConnection) throws -> TierPlan {
        TierPlan(range: range, watermarkMs: try RollupWriter.watermarkMs(connection))
    }

    /// The plan a chart over `range` would use now.
    public func tierPlan(for range: TimeRange) throws -> TierPlan {
        try connector.withConnection { try plan(range, $0) }
    }

    /// The series of `series(names:host:labels:range:)`: `labels` keeps only series carrying
    /// every one of these labels (read in SQL, so a comparison of `cpu=all` does not read every
    /// core's rows). `$1` names, `$2` host, `$3` labels (jsonb), in both queries below.
    static func seriesFilter(names: [String], host: String?, labels: [String: String]) -> (
        sql: String, parameters: [String?]
    ) {
        let wanted =
            labels.isEmpty
            ? nil : JSONValue.object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }).encoded()
        return (
            """
            SELECT id FROM metric_series WHERE name = ANY($1::text[]) AND ($2::text IS NULL OR host = $2)
              AND ($3::jsonb IS NULL OR labels @> $3::jsonb)
            """,
            [PostgresArray.text(names), host, wanted]
        )
    }

    /// The bucket query of `series(names:host:labels:range:)` under `plan`, with its
    /// parameters: `(series_id, bucket, sum, count, last, last_ms)` ordered by series and
    /// bucket. The series' host, name and labels are read apart (`seriesMetadataQuery`): a
    /// week's chart of 220 series has 6 000 buckets, and joining them to `metric_series` turned
    /// the labels into text once per bucket (a third of the statement's time).
    public static func seriesQuery(
        names: [String], host: String?, labels: [String: String] = [:], range: TimeRange, plan: TierPlan
    ) -> (sql: String, parameters: [String?]) {
        let filter = seriesFilter(names: names, host: host, labels: labels)
        // The last value of a bucket is the `last` of its row with the greatest `last_ts`: the
        // largest `[epoch, last]` pair, which needs no per-bucket sort (an ordered `array_agg`
        // sorted every bucket's rows and made a 24-h chart on the minute tier take over a second).
        let sql = """
            SELECT src.series_id, (floor(date_part('epoch', src.ts) / $4) * $4)::bigint AS bucket,
                   \(SQLNumbers.doubleSum("src.sum")) AS sum, sum(src.count)::double precision AS count,
                   (max(ARRAY[date_part('epoch', src.last_ts), src.last]))[2] AS last,
                   (extract(epoch FROM max(src.last_ts)) * 1000)::bigint AS last_ms
            FROM (\(plan.metricsSource(seriesFilter: filter.sql))) AS src (series_id, ts, sum, count, last, last_ts)
            GROUP BY 1, 2
            ORDER BY 1, 2
            """
        return (sql, filter.parameters + [String(range.stepSeconds)])
    }

    /// `(id, host, name, labels)` of the series `seriesQuery` reads.
    static func seriesMetadataQuery(names: [String], host: String?, labels: [String: String]) -> (
        sql: String, parameters: [String?]
    ) {
        let filter = seriesFilter(names: names, host: host, labels: labels)
        return (
            "SELECT s.id, s.host, s.name, s.labels::text FROM metric_series s WHERE s.id IN (\(filter.sql))",
            filter.parameters
        )
    }

    /// Series named in `names` (optionally one host, and only those with `labels`) over
    /// `range`, with latest, average and points, from the coarsest tier that serves the
    /// range's step (`TierPlan`).
    public func series(
        names: [String], host: String?, labels: [String: String] = [:], range: TimeRange
    ) throws -> [SeriesData] {
        // jsonb cannot hold U+0000 (PostgreSQL refuses the parameter): such a label matches
        // no stored series (an alert rule's labels come from a file).
        guard !labels.contains(where: { $0.key.contains("\u{0}") || $0.value.contains("\u{0}") }) else { return [] }
        return try connector.withConnection { connection -> [SeriesData] in
            let metadata = Self.seriesMetadataQuery(names: names, host: host, labels: labels)
            let found = try connection.query(metadata.sql, metadata.parameters)
            var described: [Int64: (host: String, name: String, labels: String?)] = [:]
            for row in 0..<found.rowCount {
                guard let id = found.int(row, 0), let host = found.string(row, 1), let name = found.string(row, 2)
                else { continue }
                described[id] = (host, name, found.string(row, 3))
            }
            guard !described.isEmpty else { return [] }
            let query = Self.seriesQuery(
                names: names, host: host, labels: labels, range: range, plan: try plan(range, connection))
            let buckets = try connection.query(query.sql, query.parameters)
            var byID: [Int64: SeriesData] = [:]
            var order: [Int64] = []
            var sums: [Int64: (sum: Double, count: Double)] = [:]
            for row in 0..<buckets.rowCount {
                // A series created between the two statements is left for the next request.
                guard let id = buckets.int(row, 0), let about = described[id], let bucket = buckets.int(row, 1),
                    let sum = buckets.double(row, 2), let count = buckets.double(row, 3), count > 0
                else { continue }
                if byID[id] == nil {
                    order.append(id)
                    byID[id] = SeriesData(
                        seriesID: id,
                        host: about.host,
                        name: about.name,
                        labels: Self.decodeLabels(about.labels),
                        points: []
                    )
                }
                byID[id]?.points.append((ms: bucket * 1000, value: sum / count))
                sums[id, default: (0, 0)].sum += sum
                sums[id, default: (0, 0)].count += count
                if let lastMs = buckets.int(row, 5), lastMs >= byID[id]?.latestMs ?? Int64.min {
                    byID[id]?.latestMs = lastMs
                    byID[id]?.latest = buckets.double(row, 4)
                }
            }
            return order.compactMap { id in
                guard var data = byID[id] else { return nil }
                if let total = sums[id] { data.average = total.sum / total.count }
                return data
            }
        }
    }

    /// `EXPLAIN (FORMAT JSON)` of `sql`: which partitions a query reads.
    public func explain(_ sql: String, _ parameters: [String?]) throws -> String {
        try connector.withConnection { connection in
            try connection.query("EXPLAIN (FORMAT JSON) " + sql, parameters).string(0, 0) ?? ""
        }
    }

    static func decodeLabels(_ text: String?) -> [String: String] {
        guard let text, let data = text.data(using: .utf8),
            let labels = try? JSONDecoder().decode([String: String].self, from: data)
        else { return [:] }
        return labels
    }
}
