import MonCore

extension CacheCounterNames {
    /// The matcher for monagent's configured cache types (`redis.cache_types`).
    public init(cacheTypes: [RedisSourceConfig.CacheType]) {
        self.init(cacheTypes: cacheTypes.map { (name: $0.name, pattern: $0.pattern) })
    }
}
