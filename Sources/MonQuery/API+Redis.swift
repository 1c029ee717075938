import Hummingbird
import MonCore
import MonQueryKit

extension API {

    func redisStatus(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        return envelope(range, hosts: try await redisStatusHosts(range: range, host: try parameters.host()))
    }

    /// One entry per host of `/redis/status` (`RedisStatus`, which the dashboard renders too).
    func redisStatusHosts(range: TimeRange, host: String?) async throws -> [JSONValue] {
        try await RedisStatus.load(stores, range: range, host: host).map(\.json)
    }

    func redisStats(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        return envelope(range, hosts: try await redisStatsHosts(range: range, host: try parameters.host()))
    }

    /// One entry per host of `/redis/stats`: series and per cache type rates.
    func redisStatsHosts(range: TimeRange, host: String?) async throws -> [JSONValue] {
        async let series = store.series(
            names: [
                "mon_redis_hit_ratio", "mon_redis_memory_used_bytes", "mon_redis_ops_per_second",
                "mon_redis_evictions_per_second", "mon_redis_cache_keys", "mon_redis_cache_avg_ttl_seconds",
                "mon_redis_cache_configured_ttl_seconds",
            ],
            host: host,
            range: range
        )
        async let counts = applicationCacheCounts(host: host, range: range)
        let data = try await series
        let cacheHits = try await counts
        let hosts: [JSONValue] = Set(data.hosts).union(cacheHits.keys).sorted().map { host in
            let hit = data.first("mon_redis_hit_ratio", host: host)
            let memory = data.first("mon_redis_memory_used_bytes", host: host)
            let ops = data.first("mon_redis_ops_per_second", host: host)
            let evictions = data.first("mon_redis_evictions_per_second", host: host)
            return .object([
                ("host", .string(host)),
                ("average_hit_rate_percent", Shape.average(hit, scale: 100)),
                ("cache_hit_rate_percent", Self.overallCacheHitRate(cacheHits[host])),
                (
                    "series",
                    Shape.points([
                        ("hit_rate_percent", hit, 100), ("memory_used_bytes", memory, 1), ("ops_per_second", ops, 1),
                        ("evictions_per_second", evictions, 1),
                    ])
                ),
                ("cache_types", cacheTypes(data, host: host, counts: cacheHits[host] ?? [:], extra: { _ in [] })),
            ])
        }
        return hosts
    }

    func redisKeys(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host"])
        let nowMs = WallClock.nowMs()
        let range = try parameters.timeRange(nowMs: nowMs, retention: settings.retention)
        let hostFilter = try parameters.host()
        // The hit-rate windows end where the range ends (an absolute range in the past too).
        let windowRanges = try Self.hitRatePeriods.map { try TimeRange(period: $0, step: nil, nowMs: range.endMs) }
        // Nine queries, each on its own connection of the pool: the series, then hits and
        // misses of the period and of each hit-rate window.
        async let series = store.series(
            names: [
                "mon_redis_cache_keys", "mon_redis_cache_avg_ttl_seconds", "mon_redis_cache_configured_ttl_seconds",
                "mon_redis_cache_keys_without_ttl", "mon_redis_cache_ttl_keys", "mon_redis_cache_sampled_key_bytes",
            ],
            host: hostFilter,
            range: range
        )
        async let allCounts = applicationCacheCounts(host: hostFilter, ranges: [range] + windowRanges)
        let data = try await series
        let counts = try await allCounts
        let periodCounts = counts[0]
        let windows = Array(zip(Self.hitRatePeriods, counts.dropFirst()))
        let hostNames = Set(data.hosts).union(periodCounts.keys).union(windows.flatMap { $0.1.keys }).sorted()
        let hosts: [JSONValue] = hostNames.map { host in
            .object([
                ("host", .string(host)),
                (
                    "cache_types",
                    cacheTypes(data, host: host, counts: periodCounts[host] ?? [:]) { type in
                        let keys = data.first("mon_redis_cache_keys", host: host, ["type": type])?.latest ?? 0
                        let without = data.first("mon_redis_cache_keys_without_ttl", host: host, ["type": type])?.latest
                        let buckets = Self.ttlBuckets(data.all("mon_redis_cache_ttl_keys", host: host), type: type)
                        let sampledBytes = data.first("mon_redis_cache_sampled_key_bytes", host: host, ["type": type])
                        return [
                            ("hit_rates", Self.hitRates(windows, host: host, type: type)),
                            ("sampled_bytes_per_key", Shape.latest(sampledBytes)),
                            ("keys_without_ttl", .number(without)),
                            ("without_ttl_percent", .number(keys > 0 ? without.map { $0 / keys * 100 } : nil)),
                            (
                                "ttl_distribution",
                                .array(
                                    buckets.map {
                                        .object([
                                            ("le_seconds", .string(Self.ttlBound($0))), ("keys", Shape.latest($0)),
                                        ])
                                    }
                                )
                            ),
                        ]
                    }
                ),
            ])
        }
        return envelope(range, hosts: hosts)
    }

    /// `/redis/top_keys`: per host, the latest walk's biggest keys (sampled `MEMORY USAGE`) and,
    /// under an LFU policy, the most used (`OBJECT FREQ`). Key names go to admins only; a
    /// viewer gets each key's mask (`RedisTopKeysSnapshot.mask`) and `names_hidden: true`.
    func redisTopKeys(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let snapshots = try await RedisTopKeysSnapshot.load(store, range: range, host: try parameters.host())
        let names = role(request) == .admin
        return envelope(range, hosts: snapshots.map { $0.json(names: names) })
    }

    func redisSlowlog(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host", "limit"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let limit = try parameters.limit(default: 50, maximum: 1000)
        let entries = try await redisSlowlogEntries(
            range: range, host: try parameters.host(), limit: limit, allArguments: role(request) == .admin)
        return .json(
            .object([
                ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                ("entries", .array(entries)),
            ])
        )
    }

    /// Which commands took the server's time over the period: per host, the growth of
    /// `mon_redis_command_calls_total` and `mon_redis_command_seconds_total` by command, most
    /// time first, with µs per call and the share of all command time.
    func redisCommands(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host", "limit"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let limit = try parameters.limit(default: 20, maximum: 200)
        let host = try parameters.host()
        async let callRows = store.increase(name: "mon_redis_command_calls_total", host: host, range: range)
        async let secondRows = store.increase(name: "mon_redis_command_seconds_total", host: host, range: range)
        let (calls, seconds) = try await (callRows, secondRows)
        var byHost: [String: [String: (calls: Double, seconds: Double)]] = [:]
        for row in calls {
            byHost[row.host, default: [:]][row.labels["command"] ?? "", default: (0, 0)].calls += row.value
        }
        for row in seconds {
            byHost[row.host, default: [:]][row.labels["command"] ?? "", default: (0, 0)].seconds += row.value
        }
        let hosts: [JSONValue] = byHost.keys.sorted().map { name in
            let commands = byHost[name] ?? [:]
            let totalSeconds = commands.values.reduce(0) { $0 + $1.seconds }
            let ranked = commands.sorted {
                ($0.value.seconds, $0.value.calls, $1.key) > ($1.value.seconds, $1.value.calls, $0.key)
            }
            return .object([
                ("host", .string(name)),
                ("total_seconds", .number(totalSeconds)),
                (
                    "commands",
                    .array(
                        ranked.prefix(limit).map { command, figures in
                            .object([
                                ("command", .string(command)),
                                ("calls", .number(figures.calls)),
                                ("seconds", .number(figures.seconds)),
                                (
                                    "microseconds_per_call",
                                    .number(figures.calls > 0 ? figures.seconds * 1e6 / figures.calls : nil)
                                ),
                                (
                                    "share_percent",
                                    .number(totalSeconds > 0 ? figures.seconds / totalSeconds * 100 : nil)
                                ),
                            ])
                        })
                ),
            ])
        }
        return envelope(range, hosts: hosts)
    }

    /// SLOWLOG entries of the range, newest first. Unless `allArguments` (admin), `arguments`
    /// holds only the command, like query texts for viewers: keys and values are the
    /// application's data; `arguments_hidden` counts what was left out.
    func redisSlowlogEntries(range: TimeRange, host: String?, limit: Int, allArguments: Bool) async throws
        -> [JSONValue]
    {
        let rows = try await store.events(kind: "redis_slowlog", host: host, range: range, limit: limit)
        return rows.map { row in
            let payload = row.payload.value
            var arguments = payload?["arguments"] ?? .array([])
            var hidden = 0
            if !allArguments, case .array(let items) = arguments {
                arguments = .array(Array(items.prefix(1)))
                hidden = max(0, items.count - 1)
            }
            return .object([
                ("host", .string(row.host)),
                ("timestamp", .string(Timestamp.iso8601(ms: row.timestampMs))),
                ("id", payload?["id"] ?? .null),
                ("duration_ms", .number(payload?["duration_us"]?.doubleValue.map { $0 / 1000 })),
                ("command", payload?["command"] ?? .null),
                ("arguments", arguments),
                ("arguments_hidden", .number(Double(hidden))),
                ("client_address", payload?["client_address"] ?? .null),
                ("client_name", payload?["client_name"] ?? .null),
            ])
        }
    }

    /// The application's own cache counters (StatsD `cache.hit` / `cache.miss` in the forms
    /// `CacheCounterNames` recognises, stored as `app_cache_hit_total{cache}`), increase over
    /// the range per host and type: (hits, misses). Series stored by older agents, which kept
    /// the tag's own name (`cache_type`, `cache_name`, `type`), count as well.
    func applicationCacheCounts(host: String?, range: TimeRange, shared: Bool = false) async throws -> [String: [String:
        (Double, Double)]]
    {
        try await applicationCacheCounts(host: host, ranges: [range], shared: shared)[0]
    }

    /// `applicationCacheCounts(host:range:)` of several ranges, in their order: the two
    /// increases of every distinct range run concurrently, each on its own connection of the
    /// pool (`/redis/keys`' default period is its 1-hour window: queried once). `shared`: every
    /// host's increases come from the reads shared with the alert rules (`increase`).
    func applicationCacheCounts(host: String?, ranges: [TimeRange], shared: Bool = false) async throws
        -> [[String: [String: (Double, Double)]]]
    {
        var distinct: [TimeRange] = []
        for range in ranges where !distinct.contains(range) { distinct.append(range) }
        let outcomes = [CacheCounterNames.Outcome.hit, .miss]
        let increases = try await withThrowingTaskGroup(of: (Int, [IncreaseRow]).self) { group in
            for (rangeIndex, range) in distinct.enumerated() {
                for (index, outcome) in outcomes.enumerated() {
                    let name = CacheCounterNames.metricName(outcome, prefix: "app_")
                    group.addTask {
                        (
                            rangeIndex * outcomes.count + index,
                            try await increase(name: name, host: host, range: range, shared: shared)
                        )
                    }
                }
            }
            var rows = [[IncreaseRow]](repeating: [], count: distinct.count * outcomes.count)
            for try await (slot, result) in group { rows[slot] = result }
            return rows
        }
        let counts = distinct.indices.map { index in
            Self.cacheCounts(hits: increases[index * 2], misses: increases[index * 2 + 1])
        }
        return ranges.map { range in counts[distinct.firstIndex(of: range) ?? 0] }
    }

    /// One row of `QueryStore.increase`.
    typealias IncreaseRow = (host: String, labels: [String: String], value: Double)

    /// Hits and misses per host and type, from the two increases (`CacheHitCounts`).
    static func cacheCounts(hits: [IncreaseRow], misses: [IncreaseRow]) -> [String: [String: (Double, Double)]] {
        CacheHitCounts.perHostAndType(hits: hits, misses: misses)
    }

    /// The TTL distribution of one cache type in bound order. Agents before issue 19 labelled the
    /// bound `le` (a clash in Prometheus), newer ones `ttl_bucket`: both are read, and within
    /// one type the `ttl_bucket` series win when both were stored in the period.
    static func ttlBuckets(_ series: [SeriesData], type: String) -> [SeriesData] {
        let ofType = series.filter { $0.labels["type"] == type }
        let renamed = ofType.filter { $0.labels["ttl_bucket"] != nil }
        return (renamed.isEmpty ? ofType : renamed).sorted {
            (Double(ttlBound($0)) ?? .infinity) < (Double(ttlBound($1)) ?? .infinity)
        }
    }

    static func ttlBound(_ series: SeriesData) -> String { series.labels["ttl_bucket"] ?? series.labels["le"] ?? "" }

    /// Per cache type: keys, average TTL vs configured, and the hit rate (unknown until the
    /// application sends StatsD `cache.hit`/`cache.miss` counters tagged `cache:<type>`).
    private func cacheTypes(
        _ data: [SeriesData],
        host: String,
        counts: [String: (Double, Double)] = [:],
        extra: (String) -> [(String, JSONValue)]
    ) -> JSONValue {
        let types = Set(data.all("mon_redis_cache_keys", host: host).compactMap { $0.labels["type"] })
            .union(counts.keys).sorted()
        return .array(
            types.map { type in
                let match = ["type": type]
                let keys = data.first("mon_redis_cache_keys", host: host, match)
                return .object(
                    [
                        ("type", .string(type)),
                        ("keys", Shape.latest(keys)),
                        (
                            "avg_ttl_seconds",
                            Shape.latest(data.first("mon_redis_cache_avg_ttl_seconds", host: host, match))
                        ),
                        (
                            "configured_ttl_seconds",
                            Shape.latest(data.first("mon_redis_cache_configured_ttl_seconds", host: host, match))
                        ),
                        ("hit_rate_percent", Self.cacheHitRate(counts[type])),
                        (
                            "hit_rate_status",
                            counts[type].map { $0.0 + $0.1 > 0 ? "ok" : "no lookups in the period" }
                                ?? "unknown: no cache.hit/cache.miss StatsD counters received for this type"
                        ),
                        ("series", Shape.points([("keys", keys, 1)])),
                    ] + extra(type)
                )
            }
        )
    }

    /// The windows of `/redis/keys`' `hit_rates`, ending now.
    static let hitRatePeriods = ["15m", "1h", "6h"]

    /// `[{period, hits, misses, hit_rate_percent}]` of one host and cache type.
    static func hitRates(_ windows: [(String, [String: [String: (Double, Double)]])], host: String, type: String)
        -> JSONValue
    {
        .array(
            windows.map { period, counts in
                let pair = counts[host]?[type]
                return .object([
                    ("period", .string(period)), ("hits", .number(pair?.0)), ("misses", .number(pair?.1)),
                    ("hit_rate_percent", cacheHitRate(pair)),
                ])
            })
    }

    /// All cache types of a host merged: hits / (hits + misses) in percent, nil without lookups.
    static func overallCacheHitRate(_ counts: [String: (Double, Double)]?) -> JSONValue {
        .number(Summary.cacheHitRate(counts))
    }

    static func cacheHitRate(_ pair: (Double, Double)?) -> JSONValue {
        guard let (hits, misses) = pair, hits + misses > 0 else { return .null }
        return .number(hits / (hits + misses) * 100)
    }
}
