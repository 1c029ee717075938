import MonCore

/// The dashboard's top cards, per host and overall: what `GET /api/monitoring/metrics/summary`
/// answers (`json`) and what the dashboard's cards read by field. Latest gauges come from the
/// last-value cache; the API figures (last 5 minutes), slow statements (last hour) and the
/// application's cache counters (last 15 minutes) from the database, gathered by the caller.
public struct Summary: Sendable {
    /// The API card: requests over the recent window merged over endpoints.
    public struct APICard: Sendable, Equatable {
        public var requestsPerSecond: Double
        public var p50Ms: Double?
        public var p95Ms: Double?
        /// 5xx of all requests, nil without requests.
        public var errorRatePercent: Double?

        init(_ stats: [EndpointStats], windowSeconds: Int64) {
            let totals = EndpointStats.totals(stats)
            requestsPerSecond = Double(totals.requests) / Double(max(1, windowSeconds))
            p50Ms = totals.histogram.quantile(0.5).map { $0 * 1000 }
            p95Ms = totals.histogram.quantile(0.95).map { $0 * 1000 }
            errorRatePercent =
                totals.requests > 0 ? Double(totals.serverErrors) / Double(totals.requests) * 100 : nil
        }
    }

    public struct RedisCard: Sendable, Equatable {
        public var hitRatePercent: Double?
        public var memoryUsedBytes: Double?
        public var memoryMaxBytes: Double?
        public var memoryUsedPercent: Double?
        /// The application's cache hits / lookups (StatsD `cache.hit`/`cache.miss`), all types.
        public var cacheHitRatePercent: Double?
    }

    public struct PostgresCard: Sendable, Equatable {
        public var connectionsUsed: Double?
        public var connectionsMax: Double?
        public var connectionsUsedPercent: Double?
        public var cacheHitPercent: Double?
        public var slowQueriesLastHour: Double?
    }

    public struct SystemCard: Sendable, Equatable {
        public var cpuPercent: Double?
        public var memoryPercent: Double?
        public var load1: Double?
    }

    public struct Host: Sendable {
        public var name: String
        /// When the newest of its gauges was sampled.
        public var updatedMs: Int64?
        public var api: APICard
        public var redis: RedisCard
        public var postgres: PostgresCard
        public var system: SystemCard
    }

    /// Over all hosts: the API merged; for gauges the worst host (highest CPU, memory,
    /// connections; lowest hit rates), so one bad host shows on the card; slow statements summed.
    public struct Overall: Sendable {
        public var hosts: Int
        public var api: APICard
        public var redis: RedisCard
        public var postgres: PostgresCard
        public var system: SystemCard
    }

    /// What the database gave, gathered once for all callers of a second (`ShortLivedCache`).
    public struct Figures: Sendable {
        public let slow: [(host: String, labels: [String: String], value: Double)]
        public let apiHosts: [String: [EndpointStats]]
        /// The application's cache hits and misses per host and type.
        public let cacheCounts: [String: [String: (Double, Double)]]
        /// The API cards (per host, and all hosts merged) and the slow statements per host,
        /// derived once per refresh of the figures rather than on every call: merging every
        /// host's latency histogram was most of a fleet-wide summary's CPU (300 hosts).
        let apiWindowSeconds: Int64
        let apiCards: [String: APICard]
        let apiOverall: APICard
        let slowByHost: [String: Double]

        public init(
            slow: [(host: String, labels: [String: String], value: Double)], apiHosts: [String: [EndpointStats]],
            cacheCounts: [String: [String: (Double, Double)]], apiWindowSeconds: Int64 = 300
        ) {
            self.slow = slow
            self.apiHosts = apiHosts
            self.cacheCounts = cacheCounts
            self.apiWindowSeconds = apiWindowSeconds
            apiCards = apiHosts.mapValues { APICard($0, windowSeconds: apiWindowSeconds) }
            apiOverall = APICard(apiHosts.values.flatMap { $0 }, windowSeconds: apiWindowSeconds)
            slowByHost = slow.reduce(into: [:]) { $0[$1.host, default: 0] += $1.value }
        }

        /// The figures of `host` alone, as a read of that host would give them: a host's summary
        /// taken from the fleet's figures.
        public func only(_ host: String) -> Figures {
            Figures(
                slow: slow.filter { $0.host == host }, apiHosts: apiHosts[host].map { [host: $0] } ?? [:],
                cacheCounts: cacheCounts[host].map { [host: $0] } ?? [:], apiWindowSeconds: apiWindowSeconds)
        }

        /// `host`'s API card over `windowSeconds`.
        func apiCard(_ host: String, windowSeconds: Int64) -> APICard {
            windowSeconds == apiWindowSeconds
                ? apiCards[host] ?? APICard([], windowSeconds: windowSeconds)
                : APICard(apiHosts[host] ?? [], windowSeconds: windowSeconds)
        }
    }

    /// A cached gauge: its series and latest value.
    public struct Gauge: Sendable {
        public var host: String
        public var name: String
        public var labels: [String: String]
        public var value: Double
        public var timestampMs: Int64

        public init(host: String, name: String, labels: [String: String], value: Double, timestampMs: Int64) {
            self.host = host
            self.name = name
            self.labels = labels
            self.value = value
            self.timestampMs = timestampMs
        }
    }

    /// The gauges the cards show: field, metric, label match, scale (ratio → percent: 100).
    enum Field: CaseIterable {
        case cpu, memory, load1, redisHit, redisUsedBytes, redisMaxBytes, redisUsedPercent
        case connectionsUsed, connectionsMax, connectionsPercent, postgresCacheHit

        var metric: (name: String, labels: [String: String], scale: Double) {
            switch self {
            case .cpu: ("mon_host_cpu_usage_ratio", ["cpu": "all"], 100)
            case .memory: ("mon_host_memory_used_ratio", [:], 100)
            case .load1: ("mon_host_load1", [:], 1)
            case .redisHit: ("mon_redis_hit_ratio", [:], 100)
            case .redisUsedBytes: ("mon_redis_memory_used_bytes", [:], 1)
            case .redisMaxBytes: ("mon_redis_memory_max_bytes", [:], 1)
            case .redisUsedPercent: ("mon_redis_memory_used_ratio", [:], 100)
            case .connectionsUsed: ("mon_postgres_connections_used", [:], 1)
            case .connectionsMax: ("mon_postgres_max_connections", [:], 1)
            case .connectionsPercent: ("mon_postgres_connections_used_ratio", [:], 100)
            case .postgresCacheHit: ("mon_postgres_cache_hit_ratio", [:], 100)
            }
        }
    }

    /// The metric names to read from the last-value cache.
    public static let gaugeNames = Set(Field.allCases.map(\.metric.name))
    /// The API card's window.
    public static let apiWindow = "5m"

    public var generatedMs: Int64
    public var overall: Overall
    public var hosts: [Host]

    /// Builds the summary of `host` (all hosts when nil) from cached gauges and the figures.
    public init(gauges: [Gauge], figures: Figures, host: String?, apiWindowSeconds: Int64, nowMs: Int64) {
        // Latest value per (host, field), the series matching the label filter.
        var latest: [String: [Field: (value: Double, ms: Int64)]] = [:]
        for field in Field.allCases {
            let metric = field.metric
            for gauge in gauges where gauge.name == metric.name {
                guard metric.labels.allSatisfy({ gauge.labels[$0.key] == $0.value }) else { continue }
                if let existing = latest[gauge.host]?[field], existing.ms >= gauge.timestampMs { continue }
                latest[gauge.host, default: [:]][field] = (gauge.value * metric.scale, gauge.timestampMs)
            }
        }
        let (slow, apiHosts, cacheCounts) = (figures.slow, figures.apiHosts, figures.cacheCounts)
        var names = Set(latest.keys).union(apiHosts.keys).union(slow.map(\.host)).union(cacheCounts.keys)
        if let host { names = names.filter { $0 == host } }

        hosts = names.sorted().map { name in
            let fields = latest[name] ?? [:]
            func value(_ field: Field) -> Double? { fields[field]?.value }
            let slowHour = figures.slowByHost[name]
            return Host(
                name: name, updatedMs: fields.values.map(\.ms).max(),
                api: figures.apiCard(name, windowSeconds: apiWindowSeconds),
                redis: RedisCard(
                    hitRatePercent: value(.redisHit), memoryUsedBytes: value(.redisUsedBytes),
                    memoryMaxBytes: value(.redisMaxBytes), memoryUsedPercent: value(.redisUsedPercent),
                    cacheHitRatePercent: Self.cacheHitRate(cacheCounts[name])),
                postgres: PostgresCard(
                    connectionsUsed: value(.connectionsUsed), connectionsMax: value(.connectionsMax),
                    connectionsUsedPercent: value(.connectionsPercent), cacheHitPercent: value(.postgresCacheHit),
                    slowQueriesLastHour: slowHour),
                system: SystemCard(cpuPercent: value(.cpu), memoryPercent: value(.memory), load1: value(.load1)))
        }
        func worst(_ field: Field, lowest: Bool = false) -> Double? {
            let candidates = names.compactMap { latest[$0]?[field]?.value }
            return lowest ? candidates.min() : candidates.max()
        }
        overall = Overall(
            hosts: names.count,
            api: apiWindowSeconds == figures.apiWindowSeconds
                ? figures.apiOverall : APICard(apiHosts.values.flatMap { $0 }, windowSeconds: apiWindowSeconds),
            redis: RedisCard(
                hitRatePercent: worst(.redisHit, lowest: true),
                memoryUsedPercent: worst(.redisUsedPercent),
                cacheHitRatePercent: names.compactMap { Self.cacheHitRate(cacheCounts[$0]) }.min()),
            postgres: PostgresCard(
                connectionsUsedPercent: worst(.connectionsPercent),
                cacheHitPercent: worst(.postgresCacheHit, lowest: true),
                slowQueriesLastHour: slow.isEmpty ? nil : slow.reduce(0) { $0 + $1.value }),
            system: SystemCard(cpuPercent: worst(.cpu), memoryPercent: worst(.memory)))
        generatedMs = nowMs
    }

    /// The application's hits / lookups over all cache types, in percent; nil without lookups.
    public static func cacheHitRate(_ counts: [String: (Double, Double)]?) -> Double? {
        guard let counts else { return nil }
        let (hits, misses) = counts.values.reduce((0.0, 0.0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        return hits + misses > 0 ? hits / (hits + misses) * 100 : nil
    }

    /// The host with exactly this summary's one host, when there is exactly one.
    public var singleHost: Host? { hosts.count == 1 ? hosts[0] : nil }

    /// The document's `generated`, `overall` and `hosts` (the endpoint adds `alerts` and
    /// `anomalies`).
    public var jsonFields: [(String, JSONValue)] {
        [
            ("generated", .string(Timestamp.iso8601(ms: generatedMs))),
            (
                "overall",
                .object([
                    ("hosts", .number(Double(overall.hosts))),
                    ("api", overall.api.json),
                    (
                        "redis",
                        .object([
                            ("hit_rate_percent", .number(overall.redis.hitRatePercent)),
                            ("cache_hit_rate_percent", .number(overall.redis.cacheHitRatePercent)),
                            ("memory_used_percent", .number(overall.redis.memoryUsedPercent)),
                        ])
                    ),
                    (
                        "postgres",
                        .object([
                            ("connections_used_percent", .number(overall.postgres.connectionsUsedPercent)),
                            ("cache_hit_percent", .number(overall.postgres.cacheHitPercent)),
                            ("slow_queries_last_hour", .number(overall.postgres.slowQueriesLastHour)),
                        ])
                    ),
                    (
                        "system",
                        .object([
                            ("cpu_percent", .number(overall.system.cpuPercent)),
                            ("memory_percent", .number(overall.system.memoryPercent)),
                        ])
                    ),
                ])
            ),
            ("hosts", .array(hosts.map(\.json))),
        ]
    }
}

extension Summary.APICard {
    var json: JSONValue {
        .object([
            ("requests_per_second", .number(requestsPerSecond)),
            ("p50_ms", .number(p50Ms)),
            ("p95_ms", .number(p95Ms)),
            ("error_rate_percent", .number(errorRatePercent)),
            ("window", .string(Summary.apiWindow)),
        ])
    }
}

extension Summary.Host {
    var json: JSONValue {
        .object([
            ("host", .string(name)),
            ("updated", updatedMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
            ("api", api.json),
            (
                "redis",
                .object([
                    ("hit_rate_percent", .number(redis.hitRatePercent)),
                    ("memory_used_bytes", .number(redis.memoryUsedBytes)),
                    ("memory_max_bytes", .number(redis.memoryMaxBytes)),
                    ("memory_used_percent", .number(redis.memoryUsedPercent)),
                    ("cache_hit_rate_percent", .number(redis.cacheHitRatePercent)),
                ])
            ),
            (
                "postgres",
                .object([
                    ("connections_used", .number(postgres.connectionsUsed)),
                    ("connections_max", .number(postgres.connectionsMax)),
                    ("connections_used_percent", .number(postgres.connectionsUsedPercent)),
                    ("cache_hit_percent", .number(postgres.cacheHitPercent)),
                    ("slow_queries_last_hour", .number(postgres.slowQueriesLastHour)),
                ])
            ),
            (
                "system",
                .object([
                    ("cpu_percent", .number(system.cpuPercent)),
                    ("memory_percent", .number(system.memoryPercent)),
                    ("load1", .number(system.load1)),
                ])
            ),
        ])
    }
}
