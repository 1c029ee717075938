import MonCore

/// The key signals watched for anomalies and trends (`anomalies.signals`), with their unit,
/// resolution and what to look at when one departs from its usual value.
public enum AnomalySignal: String, Sendable, CaseIterable {
    /// 95th percentile of request durations per endpoint (method + path), all hosts merged.
    case apiLatencyP95 = "api_latency_p95_ms"
    /// Share of 5xx responses, all endpoints and hosts merged.
    case apiErrorRate = "api_error_rate_percent"
    /// Redis keyspace hit rate per host (`mon_redis_hit_ratio` × 100).
    case redisHitRate = "redis_hit_rate_percent"
    /// Mean execution time of PostgreSQL statements per host (pg_stat_statements deltas:
    /// `mon_postgres_statements_exec_seconds_total` / `mon_postgres_statements_calls_total`).
    case postgresMeanQuery = "postgres_mean_query_ms"
    /// Host CPU usage (`mon_host_cpu_usage_ratio{cpu="all"}` × 100).
    case cpu = "cpu_percent"

    public var unit: String {
        switch self {
        case .apiLatencyP95, .postgresMeanQuery: "ms"
        case .apiErrorRate, .redisHitRate, .cpu: "percent"
        }
    }

    public var title: String {
        switch self {
        case .apiLatencyP95: "API P95"
        case .apiErrorRate: "API error rate"
        case .redisHitRate: "Redis hit rate"
        case .postgresMeanQuery: "PostgreSQL mean query time"
        case .cpu: "CPU usage"
        }
    }

    /// API signals are computed over all hosts; the others per host.
    public var isPerHost: Bool { self != .apiLatencyP95 && self != .apiErrorRate }

    /// The signal's resolution, in its unit: a baseline spread below this counts as "near
    /// zero" (see `SeasonalBaseline`), and no spread is taken smaller.
    public var minimumScale: Double {
        switch self {
        case .apiLatencyP95: 1
        case .apiErrorRate: 0.1
        case .redisHitRate: 0.5
        case .postgresMeanQuery: 0.1
        case .cpu: 0.5
        }
    }

    /// What to check when the signal is anomalous in `direction`.
    public func suggestion(_ direction: AnomalyDetector.Direction) -> String {
        switch (self, direction) {
        case (.apiLatencyP95, .above):
            "Check slow queries (/api/monitoring/postgres/slow_queries) or the cache hit rate (/api/monitoring/redis/stats)."
        case (.apiLatencyP95, .below):
            "Faster than usual: check the error rate, requests failing early are fast."
        case (.apiErrorRate, .above):
            "Check recent deploys and the logs at level error (/api/monitoring/logs?level=error)."
        case (.apiErrorRate, .below):
            "Fewer errors than usual: nothing to do."
        case (.redisHitRate, .below):
            "Check key TTLs and evictions per cache type (/api/monitoring/redis/keys): keys expired early, renamed by a deploy, or flushed?"
        case (.redisHitRate, .above):
            "Better than usual: nothing to do."
        case (.postgresMeanQuery, .above):
            "Check /api/monitoring/postgres/slow_queries for a changed plan or a missing index, lock waits in /postgres/connections, and the cache hit ratio."
        case (.postgresMeanQuery, .below):
            "Faster than usual: check the workload did not change (statements failing, traffic moved)."
        case (.cpu, .above):
            "Check the busiest process groups in /api/monitoring/system/cpu: a batch job, a runaway process or a traffic spike?"
        case (.cpu, .below):
            "Lower than usual: check the application is up and receiving traffic (/api/monitoring/metrics?type=api)."
        }
    }

    /// The trend's one-line description: "API P95 GET /v1/search rising for 30 min".
    public func trendText(_ direction: TrendDetector.Direction, subject: String, windowSeconds: Int64) -> String {
        let window =
            windowSeconds % 3600 == 0 ? "\(windowSeconds / 3600) h" : "\(max(1, windowSeconds / 60)) min"
        return "\(subject) \(direction.rawValue) for \(window)"
    }
}
