import MonCore

/// Merges request-duration histogram rows (`QueryStore.endpointStats`) per endpoint (method
/// and normalized path) and per step: request counts by status, the period's histogram, and
/// each step's requests, server errors and P50/P95/P99. Rows added without a step give no
/// points; series with a `group` (`QueryStore.endpointStatsByHost`: the host) are merged per
/// group and endpoint.
///
/// Counts saturate at `Histogram.maxCount` and sums are clamped to finite values, as the SQL
/// that did this before (`SQLNumbers.countSum` / `doubleSum`). A step's percentiles come from
/// its bucket counts alone (rank `floor(q × (n − 1))` over the buckets, the bucket's value),
/// as before.
struct EndpointMerger {
    struct Series {
        var method: String
        var endpoint: String
        var status: String
        var source: String
        /// What else the statistics are kept apart by (the host, or empty).
        var group = ""
    }

    private struct Step {
        var requests: UInt64 = 0
        var serverErrors: UInt64 = 0
        var buckets: [Int32: UInt64] = [:]
    }

    private struct Endpoint {
        var group: String
        var stats: EndpointStats
        var parts = HistogramParts()
        var buckets: [Int32: UInt64] = [:]
        var byStatus: [String: UInt64] = [:]
        var steps: [Int64: Step] = [:]
    }

    /// Each series' labels and the key of the endpoint (and group) it merges into, built once.
    private let series: [Int64: (labels: Series, key: String)]
    private var endpoints: [String: Endpoint] = [:]

    init(series: [Int64: Series]) {
        self.series = series.mapValues { ($0, $0.group + "\u{1F}" + $0.method + " " + $0.endpoint) }
    }

    /// One stored histogram row of series `seriesID` in `step` (its start, in seconds; nil
    /// for no per-step split).
    mutating func add(
        seriesID: Int64, step: Int64?, count: Int64, sum: Double, zeroCount: Int64, min: Double?, max: Double?,
        indexes: [Int64], counts: [Int64]
    ) {
        guard let (labels, key) = series[seriesID] else { return }
        var endpoint =
            endpoints.removeValue(forKey: key)
            ?? Endpoint(group: labels.group, stats: EndpointStats(method: labels.method, endpoint: labels.endpoint))
        let count = UInt64(Swift.max(0, count))
        endpoint.byStatus[labels.status, default: 0].addCount(count)
        endpoint.stats.sources.insert(labels.source)
        endpoint.parts.add(sum: sum, zeroCount: zeroCount, min: min, max: max)
        var window = step.map { endpoint.steps.removeValue(forKey: $0) ?? Step() }
        window?.requests.addCount(count)
        if labels.status >= "500" && labels.status < "600" { window?.serverErrors.addCount(count) }
        for (index, bucketCount) in zip(indexes, counts) {
            guard bucketCount > 0, let index = Int32(exactly: index) else { continue }
            endpoint.buckets[index, default: 0].addCount(UInt64(bucketCount))
            window?.buckets[index, default: 0].addCount(UInt64(bucketCount))
        }
        if let step, let window { endpoint.steps[step] = window }
        endpoints[key] = endpoint
    }

    /// The same rows merged by coarser keys: `key` names, for an endpoint's (group, method,
    /// path), the one it merges into (`QueryStore.fleetRequestStats`: per host with every
    /// endpoint as `*`, per endpoint with every host). Counts add as `add` adds them, so the
    /// answer is the one a merger keyed that way from the start gives (but for the order in
    /// which the sums are added).
    func regrouped(
        _ key: (_ group: String, _ method: String, _ endpoint: String) -> (
            group: String, method: String, endpoint: String
        )
    ) -> EndpointMerger {
        var merged = EndpointMerger(series: [:])
        for endpoint in endpoints.values {
            let (group, method, path) = key(endpoint.group, endpoint.stats.method, endpoint.stats.endpoint)
            let mergedKey = group + "\u{1F}" + method + " " + path
            var target =
                merged.endpoints.removeValue(forKey: mergedKey)
                ?? Endpoint(group: group, stats: EndpointStats(method: method, endpoint: path))
            target.stats.sources.formUnion(endpoint.stats.sources)
            target.parts.merge(endpoint.parts)
            for (index, count) in endpoint.buckets { target.buckets[index, default: 0].addCount(count) }
            for (status, count) in endpoint.byStatus { target.byStatus[status, default: 0].addCount(count) }
            for (start, step) in endpoint.steps {
                var window = target.steps[start] ?? Step()
                window.requests.addCount(step.requests)
                window.serverErrors.addCount(step.serverErrors)
                for (index, count) in step.buckets { window.buckets[index, default: 0].addCount(count) }
                target.steps[start] = window
            }
            merged.endpoints[mergedKey] = target
        }
        return merged
    }

    /// Every endpoint with rows, by path then method.
    func stats() -> [EndpointStats] {
        endpoints.values.map(Self.stats).sorted { ($0.endpoint, $0.method) < ($1.endpoint, $1.method) }
    }

    /// Every group's endpoints with rows, by path then method.
    func statsByGroup() -> [String: [EndpointStats]] {
        Dictionary(grouping: endpoints.values, by: \.group).mapValues { endpoints in
            endpoints.map(Self.stats).sorted { ($0.endpoint, $0.method) < ($1.endpoint, $1.method) }
        }
    }

    private static func stats(_ endpoint: Endpoint) -> EndpointStats {
        var stats = endpoint.stats
        stats.byStatus = endpoint.byStatus.mapValues { Int64($0) }
        if let histogram = endpoint.parts.histogram(endpoint.buckets) { stats.histogram = histogram }
        stats.points = endpoint.steps.keys.sorted().map { start in
            let step = endpoint.steps[start]!
            let quantiles = Self.bucketQuantiles(step.buckets, [0.50, 0.95, 0.99])
            return EndpointStats.Point(
                startMs: start * 1000, requests: Int64(step.requests), serverErrors: Int64(step.serverErrors),
                p50: quantiles[0], p95: quantiles[1], p99: quantiles[2])
        }
        return stats
    }

    /// For each of `qs`, the value of the first bucket whose running count passes rank
    /// `floor(q × (total − 1))`; nil without buckets.
    static func bucketQuantiles(_ buckets: [Int32: UInt64], _ qs: [Double]) -> [Double?] {
        guard !buckets.isEmpty else { return qs.map { _ in nil } }
        let sorted = buckets.sorted { $0.key < $1.key }
        let total = sorted.reduce(UInt64(0)) { Histogram.addCounts($0, $1.value) }
        return qs.map { q in
            let rank = UInt64((q * Double(total - 1)).rounded(.down))
            var running: UInt64 = 0
            for (index, count) in sorted {
                running = Histogram.addCounts(running, count)
                if running > rank { return Histogram.value(ofIndex: index) }
            }
            return sorted.last.map { Histogram.value(ofIndex: $0.key) }
        }
    }
}
