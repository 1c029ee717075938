import MonCore

/// One row of `metrics_1h`: a series' aggregate over one hour.
public struct HourRow: Sendable, Equatable {
    public var host: String
    public var name: String
    public var labels: [String: String]
    /// Start of the hour.
    public var hourMs: Int64
    public var sum: Double
    public var count: Double
    public var last: Double

    public var mean: Double? { count > 0 ? sum / count : nil }
}

extension QueryStore {
    /// ISO 8601 instants as a PostgreSQL `text[]` literal, cast to `timestamptz[]` in SQL.
    static func instants(_ ms: [Int64]) -> String {
        PostgresArray.text(ms.map { Timestamp.iso8601(ms: $0) })
    }

    /// The `metrics_1h` rows of the series named in `names` (optionally one host) for the
    /// hours starting at `hourStartsMs`: a handful of primary-key lookups, for seasonal
    /// baselines (the same hour on previous days).
    public func hourRows(names: [String], host: String?, hourStartsMs: [Int64]) throws -> [HourRow] {
        guard let first = hourStartsMs.min(), let last = hourStartsMs.max(), !names.isEmpty else { return [] }
        return try connector.withConnection { connection -> [HourRow] in
            let rows = try connection.query(
                """
                SELECT s.host, s.name, s.labels::text, (extract(epoch FROM r.ts) * 1000)::bigint,
                       r.sum, r.count::double precision, r.last
                FROM metrics_1h r JOIN metric_series s ON s.id = r.series_id
                WHERE s.name = ANY($1::text[]) AND ($2::text IS NULL OR s.host = $2)
                  AND r.ts = ANY($3::timestamptz[])
                  AND r.ts >= to_timestamp($4::double precision / 1000)
                  AND r.ts <= to_timestamp($5::double precision / 1000)
                """,
                [PostgresArray.text(names), host, Self.instants(hourStartsMs), String(first), String(last)]
            )
            return (0..<rows.rowCount).compactMap { row in
                guard let host = rows.string(row, 0), let name = rows.string(row, 1), let ms = rows.int(row, 3),
                    let sum = rows.double(row, 4), let count = rows.double(row, 5), let last = rows.double(row, 6)
                else { return nil }
                return HourRow(
                    host: host, name: name, labels: Self.decodeLabels(rows.string(row, 2)), hourMs: ms, sum: sum,
                    count: count, last: last)
            }
        }
    }

    /// Request statistics per endpoint (method + path) for each hour ending at one of
    /// `hourEndsMs`, from `histograms_1h` (rows are stamped with their hour's end), all
    /// hosts merged unless `host` is given. Keyed by the hour's end.
    public func hourlyEndpointStats(host: String?, hourEndsMs: [Int64]) throws -> [Int64: [EndpointStats]] {
        guard let first = hourEndsMs.min(), let last = hourEndsMs.max() else { return [:] }
        let parameters: [String?] = [
            MetricNames.requestDuration, host, Self.instants(hourEndsMs), String(first), String(last),
        ]
        let source = """
            SELECT h.*, coalesce(s.labels->>'method', '') AS method,
                   coalesce(s.labels->>'endpoint', '(overflow)') AS endpoint,
                   coalesce(s.labels->>'status', 'unknown') AS status,
                   (extract(epoch FROM h.ts) * 1000)::bigint AS end_ms
            FROM histograms_1h h JOIN metric_series s ON s.id = h.series_id
            WHERE s.name = $1 AND ($2::text IS NULL OR s.host = $2)
              AND h.ts = ANY($3::timestamptz[])
              AND h.ts >= to_timestamp($4::double precision / 1000)
              AND h.ts <= to_timestamp($5::double precision / 1000)
            """
        return try connector.withConnection { connection -> [Int64: [EndpointStats]] in
            let totals = try connection.query(
                """
                SELECT end_ms, method, endpoint, status, \(SQLNumbers.countSum("count")),
                       \(SQLNumbers.doubleSum("sum")), \(SQLNumbers.countSum("zero_count")), min(min), max(max)
                FROM (\(source)) x
                GROUP BY 1, 2, 3, 4
                """,
                parameters
            )
            struct Key: Hashable {
                var endMs: Int64
                var method: String
                var endpoint: String
            }
            var stats: [Key: EndpointStats] = [:]
            var parts: [Key: HistogramParts] = [:]
            for row in 0..<totals.rowCount {
                guard let endMs = totals.int(row, 0), let method = totals.string(row, 1),
                    let endpoint = totals.string(row, 2), let status = totals.string(row, 3),
                    let count = totals.int(row, 4)
                else { continue }
                let key = Key(endMs: endMs, method: method, endpoint: endpoint)
                stats[key, default: EndpointStats(method: method, endpoint: endpoint)].byStatus[status, default: 0]
                    .addSaturating(count)
                parts[key, default: HistogramParts()].add(totals, row: row, column: 5)
            }
            guard !stats.isEmpty else { return [:] }
            let buckets = try connection.query(
                """
                SELECT end_ms, method, endpoint, b.i, \(SQLNumbers.countSum("b.c"))
                FROM (\(source)) x, unnest(x.idx, x.cnt) AS b(i, c)
                GROUP BY 1, 2, 3, 4
                """,
                parameters
            )
            var merged: [Key: [Int32: UInt64]] = [:]
            for row in 0..<buckets.rowCount {
                guard let endMs = buckets.int(row, 0), let method = buckets.string(row, 1),
                    let endpoint = buckets.string(row, 2),
                    let index = buckets.int(row, 3).flatMap({ Int32(exactly: $0) }),
                    let count = buckets.int(row, 4), count > 0
                else { continue }
                merged[Key(endMs: endMs, method: method, endpoint: endpoint), default: [:]][index, default: 0]
                    .addCount(UInt64(count))
            }
            var result: [Int64: [EndpointStats]] = [:]
            for (key, var entry) in stats {
                if let histogram = parts[key]?.histogram(merged[key]) { entry.histogram = histogram }
                result[key.endMs, default: []].append(entry)
            }
            return result
        }
    }
}
