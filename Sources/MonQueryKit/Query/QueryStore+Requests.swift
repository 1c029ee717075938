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

    /// Adds one row's parts (a sum that would overflow stays at the largest finite value).
    mutating func add(sum: Double, zeroCount: Int64, min: Double?, max: Double?) {
        self.sum = Swift.min(Swift.max(self.sum + sum, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
        zero = Histogram.addCounts(zero, UInt64(Swift.max(0, zeroCount)))
        self.min = Swift.min(self.min, min ?? .infinity)
        self.max = Swift.max(self.max, max ?? -.infinity)
    }

    /// Adds another key's parts (as `add` would have added its rows).
    mutating func merge(_ other: HistogramParts) {
        sum = Swift.min(Swift.max(sum + other.sum, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
        zero = Histogram.addCounts(zero, other.zero)
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
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

    /// Request statistics per host, all endpoints merged (one `EndpointStats` per host, with
    /// endpoint `*` and no points): for the summary cards and the alert rules on API signals.
    ///
    /// Reads the minute rollup for the whole minutes it has computed and raw windows for the
    /// rest (`MinutePlan`: the all-raw answer), in one scan merged here. (The raw windows of
    /// every host, their buckets unnested and grouped in SQL, took 1.5 s at 300 hosts; see
    /// BENCHMARKS.md, "Hosts per daemon".)
    public func endpointStatsByHost(host: String?, range: TimeRange) throws -> [String: [EndpointStats]] {
        try connector.withConnection { connection -> [String: [EndpointStats]] in
            try Self.mergedRequests(host: host, range: range, grouping: .host, perStep: false, connection)
                .statsByGroup()
        }
    }

    /// The fleet's request statistics over `range` from one scan (`MinutePlan`, as
    /// `endpointStatsByHost`): per host with every endpoint merged (`endpointStatsByHost`'s
    /// answer) and per endpoint with every host merged (`endpointStats(perStep: false)`'s).
    /// For `FleetReads`, which shares it between the summary, the alert rules and the
    /// anomaly monitor.
    public func fleetRequestStats(range: TimeRange) throws -> FleetReads.Figures {
        try connector.withConnection { connection -> FleetReads.Figures in
            let merger = try Self.mergedRequests(
                host: nil, range: range, grouping: .hostAndEndpoint, perStep: false, connection)
            return FleetReads.Figures(
                range: range,
                byHost: merger.regrouped { host, _, _ in (host, "", "*") }.statsByGroup(),
                byEndpoint: merger.regrouped { _, method, endpoint in ("", method, endpoint) }.stats())
        }
    }

    /// Per-endpoint request statistics from the merged request-duration histograms.
    ///
    /// One scan: the histogram rows of the range come back as they are stored and are merged
    /// here, per endpoint (and per step, when `perStep`), with the series' labels read once.
    /// With `perStep`, the rows come from the coarsest tier that serves the range's step
    /// (`TierPlan`); without, there are no points, and the rows come from the minute rollup
    /// for the whole minutes it has computed and from raw windows for the rest (`MinutePlan`:
    /// the all-raw answer; for ranges of minutes to hours, such as the anomaly monitor's
    /// current window). (Four SQL aggregations over the same rows, two of them unnesting every
    /// bucket array and one a window function per step, took ~200 ms for 7 days of 50 series;
    /// see BENCHMARKS.md, issue 21.)
    public func endpointStats(host: String?, range: TimeRange, perStep: Bool = true) throws -> [EndpointStats] {
        try connector.withConnection { connection -> [EndpointStats] in
            try Self.mergedRequests(host: host, range: range, grouping: .endpoint, perStep: perStep, connection).stats()
        }
    }

    /// Per-endpoint request statistics over `range` and every endpoint merged with a point per
    /// step (`endpointStats`' answer and its total, from one scan): the report's endpoint
    /// tables and its latency chart.
    public func endpointStatsWithTotal(host: String?, range: TimeRange) throws -> (
        endpoints: [EndpointStats], total: EndpointStats?
    ) {
        try connector.withConnection { connection -> ([EndpointStats], EndpointStats?) in
            let merger = try Self.mergedRequests(
                host: host, range: range, grouping: .endpoint, perStep: true, connection)
            return (merger.stats(), merger.regrouped { _, _, _ in ("", "", "*") }.stats().first)
        }
    }

    /// How `mergedRequests` keeps rows apart.
    enum RequestGrouping {
        /// Per endpoint, every host merged.
        case endpoint
        /// Per host, every endpoint merged as `*`.
        case host
        /// Per host and endpoint (`EndpointMerger.regrouped` merges further).
        case hostAndEndpoint
    }

    /// The request-duration histogram rows of `range` (one host's, or all), merged as `grouping` says.
    static func mergedRequests(
        host: String?, range: TimeRange, grouping: RequestGrouping, perStep: Bool, _ connection: PostgresConnection
    ) throws -> EndpointMerger {
        let name = MetricNames.requestDuration
        let series = try connection.query(
            """
            SELECT id, host, coalesce(labels->>'method', ''), coalesce(labels->>'endpoint', '(overflow)'),
                   coalesce(labels->>'status', 'unknown'), coalesce(labels->>'source', '')
            FROM metric_series WHERE name = $1 AND ($2::text IS NULL OR host = $2)
            """,
            [name, host])
        var labels: [Int64: EndpointMerger.Series] = [:]
        for row in 0..<series.rowCount {
            guard let id = series.int(row, 0), let host = series.string(row, 1), let method = series.string(row, 2),
                let endpoint = series.string(row, 3), let status = series.string(row, 4)
            else { continue }
            let source = series.string(row, 5) ?? ""
            switch grouping {
            case .endpoint:
                labels[id] = EndpointMerger.Series(method: method, endpoint: endpoint, status: status, source: source)
            case .host:
                labels[id] = EndpointMerger.Series(
                    method: "", endpoint: "*", status: status, source: source, group: host)
            case .hostAndEndpoint:
                labels[id] = EndpointMerger.Series(
                    method: method, endpoint: endpoint, status: status, source: source, group: host)
            }
        }
        var merger = EndpointMerger(series: labels)
        guard !labels.isEmpty else { return merger }
        let watermarkMs = try RollupWriter.watermarkMs(connection)
        let source =
            perStep
            ? TierPlan(range: range, watermarkMs: watermarkMs).histogramSource(seriesFilter: histogramFilter)
            : MinutePlan(range: range, watermarkMs: watermarkMs).histogramSource(seriesFilter: histogramFilter)
        let rows = try connection.query(
            """
            SELECT h.series_id, \(perStep ? Self.histogramStep : "NULL::bigint"), h.count, h.sum, h.zero_count, h.min,
                   h.max, h.idx, h.cnt
            FROM (\(source)) h
            """,
            perStep ? [name, host, String(range.stepSeconds)] : [name, host]
        )
        for row in 0..<rows.rowCount {
            guard let id = rows.int(row, 0) else { continue }
            merger.add(
                seriesID: id, step: perStep ? rows.int(row, 1) : nil, count: rows.int(row, 2) ?? 0,
                sum: rows.double(row, 3) ?? 0, zeroCount: rows.int(row, 4) ?? 0, min: rows.double(row, 5),
                max: rows.double(row, 6), indexes: rows.integers(row, 7), counts: rows.integers(row, 8))
        }
        return merger
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
