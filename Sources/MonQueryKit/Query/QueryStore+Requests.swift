import MonCore

/// Request statistics of one endpoint (method + normalized path) over a period.
public struct EndpointStats: Sendable {
    public struct Point: Sendable {
        public var startMs: Int64
        public var requests: Int64
        public var serverErrors: Int64
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
    }

    public var method: String
    public var endpoint: String
    /// Every observation of the period merged (seconds).
    public var histogram = Histogram()
    /// Requests by status code (`200`, `503`, `unknown`).
    public var byStatus: [String: Int64] = [:]
    public var points: [Point] = []
    /// The inputs that fed the period's observations (`statsd`, `logs`; empty for series
    /// stored before the `source` label existed).
    public var sources: Set<String> = []

    /// `statsd` or `logs` when one input fed every observation, `mixed` when both did (the
    /// service switched inputs within the period), nil when unknown.
    public var source: String? {
        let known = sources.subtracting([""])
        guard let first = known.first else { return nil }
        return known.count == 1 ? first : "mixed"
    }

    public var requests: Int64 { byStatus.values.reduce(0) { $0.saturatingAdding($1) } }
    public var serverErrors: Int64 { count { $0 >= 500 } }
    public var clientErrors: Int64 { count { (400..<500).contains($0) } }
    public var successes: Int64 { count { $0 < 400 } }

    private func count(_ predicate: (Int) -> Bool) -> Int64 {
        byStatus.reduce(0) { total, entry in
            guard let code = Int(entry.key), predicate(code) else { return total }
            return total.saturatingAdding(entry.value)
        }
    }
}

extension EndpointStats {
    /// Several endpoints' statistics merged: one histogram, request and error counts.
    public struct Totals: Sendable {
        public var histogram = Histogram()
        public var requests: Int64 = 0
        public var serverErrors: Int64 = 0
        public var clientErrors: Int64 = 0
    }

    public static func totals(_ endpoints: [EndpointStats]) -> Totals {
        var totals = Totals()
        for endpoint in endpoints {
            totals.histogram.merge(endpoint.histogram)
            totals.requests = totals.requests.saturatingAdding(endpoint.requests)
            totals.serverErrors = totals.serverErrors.saturatingAdding(endpoint.serverErrors)
            totals.clientErrors = totals.clientErrors.saturatingAdding(endpoint.clientErrors)
        }
        return totals
    }
}

/// Sum, zero count, min and max of histogram rows, accumulated per key before the buckets
/// are merged into one `Histogram`.
struct HistogramParts {
    var sum = 0.0
    var zero: UInt64 = 0
    var min = Double.infinity
    var max = -Double.infinity

    /// Adds the row's `sum, zero_count, min, max` columns starting at `column`.
    mutating func add(_ rows: PostgresResult, row: Int, column: Int) {
        sum += rows.double(row, column) ?? 0
        zero = Histogram.addCounts(zero, UInt64(Swift.max(0, rows.int(row, column + 1) ?? 0)))
        min = Swift.min(min, rows.double(row, column + 2) ?? .infinity)
        max = Swift.max(max, rows.double(row, column + 3) ?? -.infinity)
    }

    func histogram(_ buckets: [Int32: UInt64]?) -> Histogram? {
        Histogram(buckets: buckets ?? [:], zeroCount: zero, sum: sum, min: min, max: max)
    }
}

/// One kind of error seen in error-level log records.
public struct ErrorSummary: Sendable {
    public var event: String
    public var errorType: String?
    /// The request path the records name (normalized), if any.
    public var endpoint: String?
    public var count: Int64
    public var lastMs: Int64

    func mergeKey(withEndpoint: Bool) -> String {
        [event, errorType ?? "", withEndpoint ? endpoint ?? "" : ""].joined(separator: "\u{1F}")
    }

    /// The same errors regardless of endpoint, most frequent first.
    public static func byKind(_ summaries: [ErrorSummary]) -> [ErrorSummary] {
        var merged: [String: ErrorSummary] = [:]
        for summary in summaries {
            let key = summary.mergeKey(withEndpoint: false)
            if var existing = merged[key] {
                existing.count = existing.count.saturatingAdding(summary.count)
                existing.lastMs = max(existing.lastMs, summary.lastMs)
                existing.endpoint = existing.endpoint == summary.endpoint ? existing.endpoint : nil
                merged[key] = existing
            } else {
                merged[key] = summary
            }
        }
        return merged.values.sorted { ($0.count, $0.lastMs) > ($1.count, $1.lastMs) }
    }
}

extension QueryStore {
    /// The request-duration histogram series ($1 = metric name, $2 = host or NULL).
    static let histogramFilter = "SELECT id FROM metric_series WHERE name = $1 AND ($2::text IS NULL OR host = $2)"

    /// The step (`$3` seconds) a histogram row belongs to: windows are stamped with their end.
    static let histogramStep = "(floor(date_part('epoch', h.ts - interval '1 millisecond') / $3) * $3)::bigint"

    /// `(series_id[, step], count, sum, zero_count, min, max)`: `source`'s rows merged per series
    /// (and per step when `byStep`). The queries below merge per series id first and join the
    /// labels after: labels are read once per series, not once per row (or bucket) of a week.
    static func perSeriesTotals(_ source: String, byStep: Bool) -> String {
        """
        SELECT h.series_id\(byStep ? ", \(histogramStep) AS step" : ""), sum(h.count) AS count,
               \(SQLNumbers.doubleSum("h.sum")) AS sum, sum(h.zero_count) AS zero_count, min(h.min) AS min,
               max(h.max) AS max
        FROM (\(source)) h
        GROUP BY h.series_id\(byStep ? ", step" : "")
        """
    }

    /// `(series_id[, step], i, c)`: `source`'s bucket counts merged per series and bucket index
    /// (and step when `byStep`).
    static func perSeriesBuckets(_ source: String, byStep: Bool) -> String {
        """
        SELECT h.series_id\(byStep ? ", \(histogramStep) AS step" : ""), u.i, sum(u.c) AS c
        FROM (\(source)) h, unnest(h.idx, h.cnt) AS u(i, c)
        GROUP BY h.series_id\(byStep ? ", step" : ""), u.i
        """
    }

    /// Request statistics per host, all endpoints merged (one `EndpointStats` per host, with
    /// endpoint `*`): for the summary cards.
    public func endpointStatsByHost(host: String?, range: TimeRange) throws -> [String: [EndpointStats]] {
        let name = MetricNames.requestDuration
        return try connector.withConnection { connection -> [String: [EndpointStats]] in
            let source = try plan(range, connection).histogramSource(seriesFilter: Self.histogramFilter)
            let totals = try connection.query(
                """
                SELECT s.host, coalesce(s.labels->>'status', 'unknown'), \(SQLNumbers.countSum("h.count")),
                       \(SQLNumbers.doubleSum("h.sum")), \(SQLNumbers.countSum("h.zero_count")), min(h.min), max(h.max)
                FROM (\(Self.perSeriesTotals(source, byStep: false))) h JOIN metric_series s ON s.id = h.series_id
                GROUP BY 1, 2
                """,
                [name, host]
            )
            var stats: [String: EndpointStats] = [:]
            var parts: [String: HistogramParts] = [:]
            for row in 0..<totals.rowCount {
                guard let host = totals.string(row, 0), let status = totals.string(row, 1),
                    let count = totals.int(row, 2)
                else { continue }
                stats[host, default: EndpointStats(method: "", endpoint: "*")].byStatus[status, default: 0]
                    .addSaturating(count)
                parts[host, default: HistogramParts()].add(totals, row: row, column: 3)
            }
            guard !stats.isEmpty else { return [:] }
            let buckets = try connection.query(
                """
                SELECT s.host, b.i, \(SQLNumbers.countSum("b.c"))
                FROM (\(Self.perSeriesBuckets(source, byStep: false))) b JOIN metric_series s ON s.id = b.series_id
                GROUP BY 1, 2
                """,
                [name, host]
            )
            var merged: [String: [Int32: UInt64]] = [:]
            for row in 0..<buckets.rowCount {
                guard let host = buckets.string(row, 0),
                    let index = buckets.int(row, 1).flatMap({ Int32(exactly: $0) }),
                    let count = buckets.int(row, 2), count > 0
                else { continue }
                merged[host, default: [:]][index, default: 0].addCount(UInt64(count))
            }
            for (host, part) in parts {
                if let histogram = part.histogram(merged[host]) { stats[host]?.histogram = histogram }
            }
            return stats.mapValues { [$0] }
        }
    }

    /// Per-endpoint request statistics from the merged request-duration histograms.
    public func endpointStats(host: String?, range: TimeRange) throws -> [EndpointStats] {
        let name = MetricNames.requestDuration
        return try connector.withConnection { connection -> [EndpointStats] in
            let source = try plan(range, connection).histogramSource(seriesFilter: Self.histogramFilter)
            var byKey: [String: EndpointStats] = [:]
            func key(_ method: String, _ endpoint: String) -> String { method + " " + endpoint }
            let totals = try connection.query(
                """
                SELECT coalesce(s.labels->>'method', ''), coalesce(s.labels->>'endpoint', '(overflow)'),
                       coalesce(s.labels->>'status', 'unknown'), \(SQLNumbers.countSum("h.count")),
                       \(SQLNumbers.doubleSum("h.sum")), \(SQLNumbers.countSum("h.zero_count")), min(h.min), max(h.max),
                       string_agg(DISTINCT coalesce(s.labels->>'source', ''), ',')
                FROM (\(Self.perSeriesTotals(source, byStep: false))) h JOIN metric_series s ON s.id = h.series_id
                WHERE s.name = $1 AND ($2::text IS NULL OR s.host = $2)
                GROUP BY 1, 2, 3
                """,
                [name, host]
            )
            var parts: [String: HistogramParts] = [:]
            for row in 0..<totals.rowCount {
                guard let method = totals.string(row, 0), let endpoint = totals.string(row, 1),
                    let status = totals.string(row, 2), let count = totals.int(row, 3)
                else { continue }
                let k = key(method, endpoint)
                byKey[k, default: EndpointStats(method: method, endpoint: endpoint)].byStatus[status, default: 0]
                    .addSaturating(count)
                for name in (totals.string(row, 8) ?? "").split(separator: ",", omittingEmptySubsequences: false) {
                    byKey[k]?.sources.insert(String(name))
                }
                parts[k, default: HistogramParts()].add(totals, row: row, column: 4)
            }
            guard !byKey.isEmpty else { return [] }
            let buckets = try connection.query(
                """
                SELECT coalesce(s.labels->>'method', ''), coalesce(s.labels->>'endpoint', '(overflow)'),
                       b.i, \(SQLNumbers.countSum("b.c"))
                FROM (\(Self.perSeriesBuckets(source, byStep: false))) b JOIN metric_series s ON s.id = b.series_id
                WHERE s.name = $1 AND ($2::text IS NULL OR s.host = $2)
                GROUP BY 1, 2, 3
                """,
                [name, host]
            )
            var merged: [String: [Int32: UInt64]] = [:]
            for row in 0..<buckets.rowCount {
                guard let method = buckets.string(row, 0), let endpoint = buckets.string(row, 1),
                    let index = buckets.int(row, 2), let count = buckets.int(row, 3), count > 0,
                    let index32 = Int32(exactly: index)
                else { continue }
                merged[key(method, endpoint), default: [:]][index32, default: 0].addCount(UInt64(count))
            }
            for (k, part) in parts {
                if let histogram = part.histogram(merged[k]) { byKey[k]?.histogram = histogram }
            }
            try addPoints(
                &byKey, key: key, connection: connection, source: source, name: name, host: host, range: range)
            return byKey.values.sorted { ($0.endpoint, $0.method) < ($1.endpoint, $1.method) }
        }
    }

    /// Per-step request counts, server errors and P50/P95/P99, merged in SQL (a running sum
    /// over the buckets finds each quantile's bucket, as `Histogram.quantile` does).
    private func addPoints(
        _ byKey: inout [String: EndpointStats], key: (String, String) -> String, connection: PostgresConnection,
        source: String, name: String, host: String?, range: TimeRange
    ) throws {
        let parameters: [String?] = [name, host, String(range.stepSeconds)]
        let counts = try connection.query(
            """
            SELECT coalesce(s.labels->>'method', ''), coalesce(s.labels->>'endpoint', '(overflow)'),
                   h.step, \(SQLNumbers.countSum("h.count")),
                   \(SQLNumbers.count("sum(h.count) FILTER (WHERE s.labels->>'status' >= '500' AND s.labels->>'status' < '600')"))
            FROM (\(Self.perSeriesTotals(source, byStep: true))) h JOIN metric_series s ON s.id = h.series_id
            WHERE s.name = $1 AND ($2::text IS NULL OR s.host = $2)
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3
            """,
            parameters
        )
        var points: [String: [Int64: EndpointStats.Point]] = [:]
        for row in 0..<counts.rowCount {
            guard let method = counts.string(row, 0), let endpoint = counts.string(row, 1),
                let step = counts.int(row, 2)
            else { continue }
            points[key(method, endpoint), default: [:]][step] = EndpointStats.Point(
                startMs: step * 1000, requests: counts.int(row, 3) ?? 0, serverErrors: counts.int(row, 4) ?? 0)
        }
        let quantiles = try connection.query(
            """
            WITH b AS (
                SELECT coalesce(s.labels->>'method', '') AS method,
                       coalesce(s.labels->>'endpoint', '(overflow)') AS endpoint,
                       u.step, u.i, sum(u.c) AS c
                FROM (\(Self.perSeriesBuckets(source, byStep: true))) u JOIN metric_series s ON s.id = u.series_id
                WHERE s.name = $1 AND ($2::text IS NULL OR s.host = $2)
                GROUP BY 1, 2, 3, 4
            ), r AS (
                SELECT method, endpoint, step, i,
                       sum(c) OVER (PARTITION BY method, endpoint, step ORDER BY i) AS running,
                       sum(c) OVER (PARTITION BY method, endpoint, step) AS total
                FROM b
            )
            SELECT method, endpoint, step,
                   min(i) FILTER (WHERE running > floor(0.50 * (total - 1))),
                   min(i) FILTER (WHERE running > floor(0.95 * (total - 1))),
                   min(i) FILTER (WHERE running > floor(0.99 * (total - 1)))
            FROM r GROUP BY 1, 2, 3
            """,
            parameters
        )
        for row in 0..<quantiles.rowCount {
            guard let method = quantiles.string(row, 0), let endpoint = quantiles.string(row, 1),
                let step = quantiles.int(row, 2)
            else { continue }
            let k = key(method, endpoint)
            func value(_ column: Int) -> Double? {
                quantiles.int(row, column).flatMap { Int32(exactly: $0) }.map(Histogram.value(ofIndex:))
            }
            var point =
                points[k]?[step] ?? EndpointStats.Point(startMs: step * 1000, requests: 0, serverErrors: 0)
            point.p50 = value(3)
            point.p95 = value(4)
            point.p99 = value(5)
            points[k, default: [:]][step] = point
        }
        for (k, steps) in points {
            byKey[k]?.points = steps.keys.sorted().compactMap { steps[$0] }
        }
    }

    /// The most frequent kinds of error-level log records in the period.
    public func topErrors(host: String?, range: TimeRange, limit: Int) throws -> [ErrorSummary] {
        try connector.withConnection { connection -> [ErrorSummary] in
            let rows = try connection.query(
                """
                SELECT event,
                       coalesce(fields->>'error_type', fields->>'exc_type', fields->>'exception_type',
                                fields->>'error_class'),
                       coalesce(fields->>'path', fields->>'endpoint', fields->>'route'),
                       count(*)::bigint, (extract(epoch FROM max(ts)) * 1000)::bigint
                FROM logs
                WHERE level >= \(LogLevel.error.rawValue) AND ($1::text IS NULL OR host = $1)
                  AND ts > to_timestamp($2::double precision) AND ts <= to_timestamp($3::double precision)
                GROUP BY 1, 2, 3
                ORDER BY 4 DESC
                LIMIT $4
                """,
                [host, String(Double(range.startMs) / 1000), String(Double(range.endMs) / 1000), String(limit)]
            )
            // Paths are grouped raw in SQL, then merged once normalized (`/items/7` and `/items/8`).
            var merged: [String: ErrorSummary] = [:]
            var order: [String] = []
            for row in 0..<rows.rowCount {
                guard let event = rows.string(row, 0), let count = rows.int(row, 3) else { continue }
                let summary = ErrorSummary(
                    event: event, errorType: rows.string(row, 1),
                    endpoint: rows.string(row, 2).map(EndpointNormalizer.normalize), count: count,
                    lastMs: rows.int(row, 4) ?? 0)
                let key = summary.mergeKey(withEndpoint: true)
                if var existing = merged[key] {
                    existing.count = existing.count.saturatingAdding(summary.count)
                    existing.lastMs = max(existing.lastMs, summary.lastMs)
                    merged[key] = existing
                } else {
                    merged[key] = summary
                    order.append(key)
                }
            }
            return order.compactMap { merged[$0] }.sorted { $0.count > $1.count }
        }
    }
}
