import Foundation
import Logging

/// Read-side queries for the HTTP API, on its own PostgreSQL connection and thread.
///
/// Every query is bounded in time so partition pruning applies, and uses bound parameters only.
public actor QueryStore {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector

    public init(databaseURL: String, password: String? = nil, name: String = "pg-query") {
        executor = ThreadExecutor(name: name)
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-api", password: password)
    }

    /// Round trip to the database, in seconds (for `/health`).
    public func ping() throws -> Double {
        let start = ContinuousClock.now
        try connector.withConnection { connection in _ = try connection.query("SELECT 1") }
        return start.duration(to: .now).seconds
    }

    /// Series named in `names` (optionally one host) over `range`, with latest, average and points.
    public func series(names: [String], host: String?, range: TimeRange) throws -> [SeriesData] {
        let nameArray = PostgresArray.text(names)
        let startSeconds = String(Double(range.startMs) / 1000)
        let endSeconds = String(Double(range.endMs) / 1000)
        return try connector.withConnection { connection -> [SeriesData] in
            let buckets = try connection.query(
                """
                SELECT s.id, s.host, s.name, s.labels::text,
                       (floor(extract(epoch FROM m.ts) / $4) * $4)::bigint AS bucket,
                       sum(m.value), count(*)
                FROM metrics m
                JOIN metric_series s ON s.id = m.series_id
                WHERE s.name = ANY($1::text[])
                  AND ($2::text IS NULL OR s.host = $2)
                  AND m.ts >= to_timestamp($3::double precision)
                  AND m.ts <= to_timestamp($5::double precision)
                GROUP BY 1, 2, 3, 4, 5
                ORDER BY 1, 5
                """,
                [nameArray, host, startSeconds, String(range.stepSeconds), endSeconds]
            )
            var byID: [Int64: SeriesData] = [:]
            var order: [Int64] = []
            var sums: [Int64: (sum: Double, count: Double)] = [:]
            for row in 0..<buckets.rowCount {
                guard let id = buckets.int(row, 0), let host = buckets.string(row, 1),
                    let name = buckets.string(row, 2), let bucket = buckets.int(row, 4),
                    let sum = buckets.double(row, 5), let count = buckets.double(row, 6), count > 0
                else { continue }
                if byID[id] == nil {
                    order.append(id)
                    byID[id] = SeriesData(
                        seriesID: id,
                        host: host,
                        name: name,
                        labels: Self.decodeLabels(buckets.string(row, 3)),
                        points: []
                    )
                }
                byID[id]?.points.append((ms: bucket * 1000, value: sum / count))
                sums[id, default: (0, 0)].sum += sum
                sums[id, default: (0, 0)].count += count
            }
            guard !order.isEmpty else { return [] }
            let latest = try connection.query(
                """
                SELECT DISTINCT ON (m.series_id) m.series_id, (extract(epoch FROM m.ts) * 1000)::bigint, m.value
                FROM metrics m
                WHERE m.series_id = ANY($1::bigint[])
                  AND m.ts >= to_timestamp($2::double precision)
                  AND m.ts <= to_timestamp($3::double precision)
                ORDER BY m.series_id, m.ts DESC
                """,
                [PostgresArray.integers(order), startSeconds, endSeconds]
            )
            for row in 0..<latest.rowCount {
                guard let id = latest.int(row, 0) else { continue }
                byID[id]?.latestMs = latest.int(row, 1)
                byID[id]?.latest = latest.double(row, 2)
            }
            return order.compactMap { id in
                guard var data = byID[id] else { return nil }
                if let total = sums[id] { data.average = total.sum / total.count }
                return data
            }
        }
    }

    static func decodeLabels(_ text: String?) -> [String: String] {
        guard let text, let data = text.data(using: .utf8),
            let labels = try? JSONDecoder().decode([String: String].self, from: data)
        else { return [:] }
        return labels
    }
}
