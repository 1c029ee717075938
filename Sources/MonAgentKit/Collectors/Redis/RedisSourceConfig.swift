import MonCore

/// The Redis source of monagent (`redis.*` keys; off when `redis.url` is empty).
public struct RedisSourceConfig: Sendable {
    /// A cache type: keys matching `pattern` (glob) and the TTL the application configures for them.
    public struct CacheType: Sendable, Equatable {
        public var name: String
        public var pattern: String
        public var ttlSeconds: Double?

        public init(name: String, pattern: String, ttlSeconds: Double? = nil) {
            self.name = name
            self.pattern = pattern
            self.ttlSeconds = ttlSeconds
        }
    }

    /// How much of a SLOWLOG entry's arguments is kept (arguments can carry personal data).
    public enum SlowlogArguments: String, Sendable, CaseIterable {
        /// Command name only.
        case none
        /// Command name and first argument (usually the key). Default.
        case first
        /// Every argument.
        case all
    }

    /// `redis.url` — `redis://[:password@]host:port/db` or `unix:///path.sock` (env `MONAGENT_REDIS_URL`).
    public var url: String
    /// `redis.password_file` — AUTH password kept out of the URL (never logged).
    public var password: String?
    /// `redis.timeout_ms` — connect and command timeout (default 1000).
    public var timeoutMs = 1000
    /// `redis.slowlog_arguments` — none | first | all (default first).
    public var slowlogArguments = SlowlogArguments.first
    /// `redis.scan_count` — COUNT hint of each SCAN call (default 1000).
    public var scanCount = 1000
    /// `redis.scan_time_cap_ms` — time the key walk may spend per cycle (default 20).
    public var scanTimeCapMs = 20.0
    /// `redis.scan_interval_seconds` — how often a key walk starts (default 60; 0 = a new walk right
    /// after the last one ends, every cycle). A walk in progress still takes one budgeted step per
    /// cycle; between walks the counts of the last completed walk are reported again.
    public var scanIntervalSeconds = 60.0
    /// `redis.memory_samples` — keys per SCAN step whose `MEMORY USAGE` is sampled (default 0 = off).
    public var memorySamples = 0
    /// `redis.top_keys` — how many of the biggest (and, under an LFU `maxmemory-policy`, most
    /// used) keys each completed walk reports (default 10; 0 = off).
    public var topKeys = 10
    /// `redis.top_keys_samples` — keys per SCAN step whose `MEMORY USAGE` (and `OBJECT FREQ`)
    /// is asked for the top keys (default 100: SCAN returns keys in hash order, so a random sample).
    public var topKeysSamples = 100
    /// `redis.cache_types` — the application's cache types (defaults: MnemoLite's three).
    public var cacheTypes: [CacheType] = RedisSourceConfig.defaultCacheTypes

    public static let defaultCacheTypes = [
        CacheType(name: "search_results", pattern: "search:*", ttlSeconds: 30),
        CacheType(name: "embeddings", pattern: "emb:*", ttlSeconds: 60),
        CacheType(name: "graph_traversal", pattern: "graph:*", ttlSeconds: 120),
    ]
    /// Most cache types tracked; keys of any other pattern count as `other`.
    public static let maxCacheTypes = 32

    public init(url: String) { self.url = url }

    init?(source: ConfigSource) throws {
        let url = source.optionalString("redis.url")
        let password = try source.secretFile("redis.password_file")
        let timeout = try source.int("redis.timeout_ms", default: 1000, range: 10...60_000)
        let arguments = try source.choice("redis.slowlog_arguments", default: SlowlogArguments.first)
        let count = try source.int("redis.scan_count", default: 1000, range: 1...100_000)
        let cap = try source.double("redis.scan_time_cap_ms", default: 20, range: 1...10_000)
        let scanInterval = try source.double("redis.scan_interval_seconds", default: 60, range: 0...86_400)
        let memorySamples = try source.int("redis.memory_samples", default: 0, range: 0...10_000)
        let topKeys = try source.int("redis.top_keys", default: 10, range: 0...100)
        let topKeysSamples = try source.int("redis.top_keys_samples", default: 100, range: 1...10_000)
        var types = Self.defaultCacheTypes
        if let items = try source.mappingList("redis.cache_types") {
            types = try items.enumerated().map { index, item in
                guard let name = item["name"]?.first, !name.isEmpty, let pattern = item["pattern"]?.first,
                    !pattern.isEmpty
                else {
                    throw ConfigError(key: "redis.cache_types[\(index)]", message: "needs a name and a pattern")
                }
                for key in item.keys where !["name", "pattern", "ttl_seconds"].contains(key) {
                    throw ConfigError(key: "redis.cache_types[\(index)].\(key)", message: "unknown key")
                }
                var ttl: Double?
                if let text = item["ttl_seconds"]?.first {
                    guard let value = Double(text), value > 0, value.isFinite else {
                        throw ConfigError(
                            key: "redis.cache_types[\(index)].ttl_seconds",
                            message: "'\(text)' is not a finite positive number")
                    }
                    ttl = value
                }
                return CacheType(name: name, pattern: pattern, ttlSeconds: ttl)
            }
            guard types.count <= Self.maxCacheTypes else {
                throw ConfigError(key: "redis.cache_types", message: "at most \(Self.maxCacheTypes) cache types")
            }
        }
        guard let url else { return nil }
        self.url = url
        self.password = password
        timeoutMs = timeout
        slowlogArguments = arguments
        scanCount = count
        scanTimeCapMs = cap
        scanIntervalSeconds = scanInterval
        self.memorySamples = memorySamples
        self.topKeys = topKeys
        self.topKeysSamples = topKeysSamples
        cacheTypes = types
    }
}
