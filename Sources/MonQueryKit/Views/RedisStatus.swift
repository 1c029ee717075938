import MonCore

/// One host's Redis at a glance: what `GET /api/monitoring/redis/status` answers per host and
/// what the dashboard's Redis panel shows, built once here so both read the same values,
/// flags and thresholds (`Thresholds`).
///
/// To show another Redis metric in both, add one line to `figures`: the JSON key path, the
/// dashboard's label, the metric and how to print it.
public struct RedisStatus: Sendable {
    /// A latest value shown as is: in the JSON under `path`, on the dashboard as `label`.
    public struct Figure: Sendable {
        public enum Format: Sendable { case count, bytes, seconds, perSecond }
        /// The JSON key path, e.g. `["clients", "connected"]`.
        public let path: [String]
        public let label: String
        public let metric: String
        public let format: Format
    }

    /// The figures every host entry carries, in JSON and on the dashboard, in this order.
    public static let figures: [Figure] = [
        Figure(path: ["uptime_seconds"], label: "Uptime", metric: "mon_redis_uptime_seconds", format: .seconds),
        Figure(path: ["keys_total"], label: "Keys", metric: "mon_redis_keys", format: .count),
        Figure(
            path: ["clients", "connected"], label: "Clients", metric: "mon_redis_connected_clients", format: .count),
        Figure(
            path: ["clients", "blocked"], label: "Blocked clients", metric: "mon_redis_blocked_clients",
            format: .count),
        Figure(path: ["ops_per_second"], label: "Commands", metric: "mon_redis_ops_per_second", format: .perSecond),
        Figure(path: ["connected_slaves"], label: "Replicas", metric: "mon_redis_connected_slaves", format: .count),
    ]

    /// A condition worth a look, with the threshold it crossed in its message.
    public struct Flag: Sendable, Equatable {
        public let code: String
        public let message: String
    }

    public let host: String
    /// When the newest of these values was sampled.
    public let latestMs: Int64?
    public let connected: Bool
    public let version: String
    public let role: String
    public let memoryUsedBytes: Double?
    public let memoryMaxBytes: Double?
    /// Of maxmemory (0…1), when maxmemory is set.
    public let memoryUsedRatio: Double?
    /// Keyspace hits / lookups over the period; nil without lookups.
    public let hitRatio: Double?
    public let hitsInPeriod: Double
    public let missesInPeriod: Double
    public let evictionsInPeriod: Double
    public let evictionsLastHour: Double
    /// The latest value of each of `figures`, in that order (nil where not reported).
    public let figureValues: [Double?]
    /// Connected clients and the `maxclients` setting (INFO, Redis 7+), latest values.
    public let connectedClients: Double?
    public let maxClients: Double?
    public let flags: [Flag]

    /// Every host's status over `range` (one host when `host` is set).
    public static func load(_ stores: QueryStorePool, range: TimeRange, host: String?) async throws -> [RedisStatus] {
        // Five queries side by side, each on the least busy store of the pool.
        async let series = stores.store.series(
            names: [
                "mon_redis_up", "mon_redis_info", "mon_redis_memory_used_bytes", "mon_redis_memory_max_bytes",
                "mon_redis_memory_used_ratio", "mon_redis_max_clients",
            ] + figures.map(\.metric),
            host: host, range: range)
        func total(_ rows: [(host: String, value: Double)], _ host: String) -> Double {
            rows.filter { $0.host == host }.reduce(0) { $0 + $1.value }
        }
        let hour = try TimeRange(period: "1h", step: nil, nowMs: range.endMs)
        async let hitRows = stores.store.increase(name: "mon_redis_keyspace_hits_total", host: host, range: range)
        async let missRows = stores.store.increase(name: "mon_redis_keyspace_misses_total", host: host, range: range)
        async let evictionRows = stores.store.increase(name: "mon_redis_evicted_keys_total", host: host, range: range)
        async let evictionHourRows = stores.store.increase(
            name: "mon_redis_evicted_keys_total", host: host, range: hour)
        let data = try await series
        let (hits, misses, evictions, evictionsHour) = try await (hitRows, missRows, evictionRows, evictionHourRows)
        return data.hosts.map { name in
            let up = data.first("mon_redis_up", host: name)
            let info = data.first("mon_redis_info", host: name)
            let hitCount = total(hits.map { ($0.host, $0.value) }, name)
            let missCount = total(misses.map { ($0.host, $0.value) }, name)
            return RedisStatus(
                host: name, latestMs: up?.latestMs, connected: up?.latest == 1,
                version: info?.labels["version"] ?? "", role: info?.labels["role"] ?? "",
                memoryUsedBytes: data.first("mon_redis_memory_used_bytes", host: name)?.latest,
                memoryMaxBytes: data.first("mon_redis_memory_max_bytes", host: name)?.latest,
                memoryUsedRatio: data.first("mon_redis_memory_used_ratio", host: name)?.latest,
                hitRatio: hitCount + missCount > 0 ? hitCount / (hitCount + missCount) : nil,
                hitsInPeriod: hitCount, missesInPeriod: missCount,
                evictionsInPeriod: total(evictions.map { ($0.host, $0.value) }, name),
                evictionsLastHour: total(evictionsHour.map { ($0.host, $0.value) }, name),
                figureValues: figures.map { data.first($0.metric, host: name)?.latest },
                maxClients: data.first("mon_redis_max_clients", host: name)?.latest)
        }
    }

    public init(
        host: String, latestMs: Int64?, connected: Bool, version: String, role: String, memoryUsedBytes: Double?,
        memoryMaxBytes: Double?, memoryUsedRatio: Double?, hitRatio: Double?, hitsInPeriod: Double,
        missesInPeriod: Double, evictionsInPeriod: Double, evictionsLastHour: Double, figureValues: [Double?],
        maxClients: Double? = nil
    ) {
        self.host = host
        self.latestMs = latestMs
        self.connected = connected
        self.version = version
        self.role = role
        self.memoryUsedBytes = memoryUsedBytes
        self.memoryMaxBytes = memoryMaxBytes
        self.memoryUsedRatio = memoryUsedRatio
        self.hitRatio = hitRatio
        self.hitsInPeriod = hitsInPeriod
        self.missesInPeriod = missesInPeriod
        self.evictionsInPeriod = evictionsInPeriod
        self.evictionsLastHour = evictionsLastHour
        self.figureValues = figureValues
        connectedClients = zip(Self.figures, figureValues).first { $0.0.metric == "mon_redis_connected_clients" }?.1
        self.maxClients = maxClients
        flags = Self.flags(hitRatio: hitRatio, memoryUsedRatio: memoryUsedRatio, evictionsLastHour: evictionsLastHour)
    }

    /// The hit rate, memory and eviction flags, against the shipped thresholds.
    static func flags(hitRatio: Double?, memoryUsedRatio: Double?, evictionsLastHour: Double) -> [Flag] {
        var flags: [Flag] = []
        let hitLimit = Thresholds.redisHitPercent
        if let hitRatio, hitRatio < hitLimit.ratio {
            flags.append(
                Flag(
                    code: "hit_rate",
                    message:
                        "hit rate \(Self.percent(hitRatio)) % (< \(Thresholds.text(hitLimit.limit)) %): cache ineffective"
                ))
        }
        let memoryLimit = Thresholds.redisMemoryPercent
        if let memoryUsedRatio, memoryUsedRatio > memoryLimit.ratio {
            flags.append(
                Flag(
                    code: "memory",
                    message:
                        "memory at \(Self.percent(memoryUsedRatio)) % of maxmemory (> \(Thresholds.text(memoryLimit.limit)) %): eviction risk"
                ))
        }
        let evictionLimit = Thresholds.redisEvictionsPerHour.limit
        if evictionsLastHour > evictionLimit {
            flags.append(
                Flag(
                    code: "evictions",
                    message:
                        "\(PrometheusText.format(evictionsLastHour.rounded())) evictions in the last hour (> \(Thresholds.text(evictionLimit))): TTL too high?"
                ))
        }
        return flags
    }

    /// Connected clients of `maxclients` (0…1), when both are known.
    public var clientsUsedRatio: Double? {
        guard let connectedClients, let maxClients, maxClients > 0 else { return nil }
        return connectedClients / maxClients
    }

    /// A ratio as a percentage with one decimal: 0.8125 → "81.3".
    static func percent(_ ratio: Double) -> String { String((ratio * 1000).rounded() / 10) }

    /// The host's entry of `/redis/status`.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("host", .string(host)),
            ("timestamp", latestMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
            ("connected", .bool(connected)),
            ("version", .string(version)),
            ("role", .string(role)),
            (
                "memory",
                .object([
                    ("used_bytes", .number(memoryUsedBytes)), ("max_bytes", .number(memoryMaxBytes)),
                    ("used_percent", .number(memoryUsedRatio.map { $0 * 100 })),
                ])
            ),
            ("hit_rate_percent", .number(hitRatio.map { $0 * 100 })),
            ("hits_in_period", .number(hitsInPeriod)),
            ("misses_in_period", .number(missesInPeriod)),
            ("evictions_in_period", .number(evictionsInPeriod)),
            ("evictions_last_hour", .number(evictionsLastHour)),
        ]
        for (figure, value) in zip(Self.figures, figureValues) {
            Self.insert(.number(value), at: figure.path[...], into: &fields)
        }
        Self.insert(.number(maxClients), at: ["clients", "max"], into: &fields)
        Self.insert(.number(clientsUsedRatio.map { $0 * 100 }), at: ["clients", "used_percent"], into: &fields)
        fields.append(
            (
                "flags",
                .array(
                    flags.map {
                        .object([("code", .string($0.code)), ("severity", "warning"), ("message", .string($0.message))])
                    })
            ))
        return .object(fields)
    }

    /// Sets `path` in an ordered object, creating the nested objects it names.
    static func insert(_ value: JSONValue, at path: ArraySlice<String>, into fields: inout [(String, JSONValue)]) {
        guard let key = path.first else { return }
        guard path.count > 1 else {
            fields.removeAll { $0.0 == key }
            fields.append((key, value))
            return
        }
        var inner: [(String, JSONValue)] = []
        if let index = fields.firstIndex(where: { $0.0 == key }) {
            if case .object(let existing) = fields[index].1 { inner = existing }
            fields.remove(at: index)
        }
        insert(value, at: path.dropFirst(), into: &inner)
        fields.append((key, .object(inner)))
    }
}
