import MonCore

/// The application's cache hits and misses (StatsD `cache.hit`/`cache.miss`, stored as the
/// `app_` cache counters) per host and cache type: what the Redis page, the summary's cache
/// card and the report read.
public enum CacheHitCounts {
    /// The two counters whose increases `perHostAndType` takes, hits first.
    public static var metricNames: (hits: String, misses: String) {
        (
            CacheCounterNames.metricName(.hit, prefix: "app_"),
            CacheCounterNames.metricName(.miss, prefix: "app_")
        )
    }

    /// Hits and misses per host and type, from the two counters' increases (rows without a
    /// type tag are left out).
    public static func perHostAndType(
        hits: [(host: String, labels: [String: String], value: Double)],
        misses: [(host: String, labels: [String: String], value: Double)]
    ) -> [String: [String: (Double, Double)]] {
        var counts: [String: [String: (Double, Double)]] = [:]
        for (index, rows) in [hits, misses].enumerated() {
            for entry in rows {
                guard let type = CacheCounterNames.typeTagNames.lazy.compactMap({ entry.labels[$0] }).first
                else { continue }
                var pair = counts[entry.host]?[type] ?? (0, 0)
                if index == 0 { pair.0 += entry.value } else { pair.1 += entry.value }
                counts[entry.host, default: [:]][type] = pair
            }
        }
        return counts
    }

    /// Hits / lookups per type over every host, in percent (types without lookups left out).
    public static func hitRatePerType(_ counts: [String: [String: (Double, Double)]]) -> [String: Double] {
        var merged: [String: (Double, Double)] = [:]
        for byType in counts.values {
            for (type, pair) in byType {
                merged[type, default: (0, 0)].0 += pair.0
                merged[type, default: (0, 0)].1 += pair.1
            }
        }
        return merged.compactMapValues { $0.0 + $0.1 > 0 ? $0.0 / ($0.0 + $0.1) * 100 : nil }
    }
}
