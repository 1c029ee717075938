import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct RedisWalkTests {
    @Test(
        "glob patterns match like Redis",
        arguments: [
            ("search:*", "search:abc", true), ("search:*", "search:", true), ("search:*", "searc", false),
            ("emb:*", "xemb:1", false), ("*:1", "a:b:1", true), ("h?llo", "hello", true), ("h?llo", "hllo", false),
            ("h[ae]llo", "hallo", true), ("h[ae]llo", "hillo", false), ("a\\*b", "a*b", true), ("a\\*b", "axb", false),
            ("*", "", true), ("", "x", false), ("graph:*:edges", "graph:42:edges", true),
            ("graph:*:edges", "graph:42:nodes", false),
        ]
    )
    func glob(_ pattern: String, _ key: String, _ expected: Bool) {
        #expect(GlobPattern(pattern).matches(key) == expected)
    }

    @Test("a new walk starts every interval; a walk in progress steps every cycle")
    func walkCadence() {
        var walk = CacheKeyWalk(types: RedisSourceConfig.defaultCacheTypes)
        var due = walk.stepDue(at: 1_000, intervalSeconds: 60)
        #expect(due, "the first walk starts at once")
        walk.add(keys: ["search:1"], pttls: [-1], nextCursor: "5")
        due = walk.stepDue(at: 6_000, intervalSeconds: 60)
        #expect(due, "in progress: continues")
        walk.add(keys: ["emb:1"], pttls: [-1], nextCursor: "0")
        #expect(walk.completed?["search_results"]?.keys == 1)
        due = walk.stepDue(at: 11_000, intervalSeconds: 60)
        #expect(!due)
        due = walk.stepDue(at: 60_999, intervalSeconds: 60)
        #expect(!due)
        #expect(walk.completed?["embeddings"]?.keys == 1, "the last counts stay published between walks")
        due = walk.stepDue(at: 61_000, intervalSeconds: 60)
        #expect(due)
        #expect(walk.startedMs == 61_000)
        walk.add(keys: [], pttls: [], nextCursor: "0")
        due = walk.stepDue(at: 66_000, intervalSeconds: 0)
        #expect(due, "0: a new walk every cycle")
    }

    @Test("a walk over several steps publishes counts, TTL averages and buckets only when complete")
    func walkAggregates() throws {
        var walk = CacheKeyWalk(types: RedisSourceConfig.defaultCacheTypes)
        walk.add(keys: ["search:1", "search:2", "emb:1"], pttls: [30_000, 10_000, -1], nextCursor: "17")
        #expect(walk.completed == nil)
        #expect(walk.cursor == "17")
        walk.add(keys: ["other", "graph:1", "gone"], pttls: [5_000, 120_000, -2], nextCursor: "0")
        let totals = try #require(walk.completed)
        #expect(walk.walksCompleted == 1)
        #expect(totals["search_results"]?.keys == 2)
        #expect(totals["search_results"]?.averageTTLSeconds == 20)
        #expect(totals["embeddings"]?.keys == 1)
        #expect(totals["embeddings"]?.keysWithoutTTL == 1)
        #expect(totals["embeddings"]?.averageTTLSeconds == nil)
        #expect(totals["graph_traversal"]?.ttlBucketCounts == [0, 0, 0, 1, 0, 0, 0])
        #expect(totals["other"]?.keys == 1, "the key that vanished (-2) is not counted")
        #expect(totals["search_results"]?.ttlBucketCounts == [1, 1, 0, 0, 0, 0, 0])

        // The next walk starts from zero and does not mix with the previous one.
        walk.add(keys: ["search:9"], pttls: [-1], nextCursor: "0")
        #expect(walk.completed?["search_results"]?.keys == 1)
        #expect(walk.completed?["embeddings"]?.keys == 0, "configured types are reported even when empty")
        #expect(walk.walksCompleted == 2)
    }

    @Test("sampled MEMORY USAGE averages per type")
    func walkMemorySamples() throws {
        var walk = CacheKeyWalk(types: RedisSourceConfig.defaultCacheTypes)
        walk.add(keys: ["search:1", "search:2", "emb:1"], pttls: [1, 1, 1], memory: [100, 300], nextCursor: "0")
        let totals = try #require(walk.completed)
        #expect(totals["search_results"]?.averageSampledBytes == 200)
        #expect(totals["embeddings"]?.averageSampledBytes == nil, "not sampled")
    }

    static func entry(_ id: Int64) -> SlowlogEntry {
        SlowlogEntry(id: id, timestamp: 1_700_000_000 + id, durationMicros: 15_000, arguments: ["GET", "k\(id)"])
    }

    @Test("the slow log is read incrementally: nothing twice, nothing missed, wraps counted")
    func slowlogIncremental() {
        var tracker = SlowlogTracker()
        // First reading sets the position: history is not reported as new.
        #expect(tracker.update([Self.entry(5), Self.entry(4)]) == .init(new: [], lost: 0))
        #expect(tracker.update([Self.entry(6), Self.entry(5), Self.entry(4)]).new.map(\.id) == [6])
        #expect(tracker.update([Self.entry(6), Self.entry(5)]).new.isEmpty, "no entry counted twice")
        // 7..9 rotated out before we read: ids 10 and 11 are new, 3 lost.
        let wrapped = tracker.update([Self.entry(11), Self.entry(10)])
        #expect(wrapped.new.map(\.id) == [10, 11])
        #expect(wrapped.lost == 3)
        // A restarted server: ids start again.
        let reset = tracker.update([Self.entry(1), Self.entry(0)])
        #expect(reset.new.map(\.id) == [0, 1])
        #expect(reset.lost == 0)
    }

    @Test("an empty slow log at the first reading does not hide the first entries")
    func slowlogEmptyStart() {
        var tracker = SlowlogTracker()
        #expect(tracker.update([]).new.isEmpty)
        // Ids are global to the server (SLOWLOG RESET keeps counting): 41 is the first we see.
        #expect(
            tracker.update([Self.entry(42), Self.entry(41)]) == .init(new: [Self.entry(41), Self.entry(42)], lost: 0))
        #expect(tracker.update([Self.entry(43), Self.entry(42)]).new.map(\.id) == [43])
    }

    @Test("redis.* configuration: defaults, overrides and errors naming the key")
    func redisConfig() throws {
        let none = try AgentConfig(source: ConfigSource(yaml: "", envPrefix: "MONAGENT", environment: [:]))
        #expect(none.redis == nil)
        let config = try AgentConfig(
            source: ConfigSource(
                yaml: """
                    redis:
                      url: redis://127.0.0.1:6379/2
                      slowlog_arguments: none
                      cache_types:
                        - name: sessions
                          pattern: "sess:*"
                          ttl_seconds: 900
                    """,
                envPrefix: "MONAGENT",
                environment: ["MONAGENT_REDIS_SCAN_COUNT": "50"]
            )
        )
        let redis = try #require(config.redis)
        #expect(redis.url == "redis://127.0.0.1:6379/2")
        #expect(redis.slowlogArguments == .none)
        #expect(redis.scanCount == 50)
        #expect(redis.scanIntervalSeconds == 60)
        #expect(redis.cacheTypes == [.init(name: "sessions", pattern: "sess:*", ttlSeconds: 900)])
        for (yaml, key) in [
            ("redis:\n  url: x\n  slowlog_arguments: some", "redis.slowlog_arguments"),
            ("redis:\n  url: x\n  scan_count: 0", "redis.scan_count"),
            ("redis:\n  url: x\n  scan_interval_seconds: -1", "redis.scan_interval_seconds"),
            ("redis:\n  url: x\n  cache_types:\n    - name: a", "redis.cache_types[0]"),
            (
                "redis:\n  url: x\n  cache_types:\n    - {name: a, pattern: 'a:*', ttl_seconds: -1}",
                "redis.cache_types[0].ttl_seconds"
            ),
        ] {
            let error = #expect(throws: ConfigError.self) {
                try AgentConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: [:]))
            }
            #expect(error?.key == key, "\(yaml)")
        }
    }
}
