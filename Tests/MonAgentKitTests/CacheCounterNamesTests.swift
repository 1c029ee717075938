import Testing

@testable import MonAgentKit
@testable import MonCore

/// Cache hit/miss counters in every form real clients send end up as
/// `app_cache_hit_total{cache="<type>"}` / `app_cache_miss_total{cache="<type>"}`.
@Suite struct CacheCounterNamesTests {
    static func flushed(_ text: String) -> [Sample] {
        let aggregator = AppAggregator(config: StatsDConfig())
        Array(text.utf8).withUnsafeBytes { aggregator.ingest(datagram: $0) }
        return aggregator.flush(timestampMs: 1000).samples.filter { $0.timestampMs == 1000 }
    }

    static func value(_ samples: [Sample], _ name: String, _ type: String) -> Double? {
        samples.first { $0.name == name && $0.labels == Labels(["cache": type]) }?.value
    }

    @Test(
        "every client form names the same series",
        arguments: [
            // datadog DogStatsd.increment("cache.hit", tags=["cache:search_results"])
            ("cache.hit:1|c|#cache:search_results", "search_results"),
            ("cache.hit:1|c|#cache_type:search_results", "search_results"),
            ("cache.hit:1|c|#env:prod,cache_name:embeddings", "embeddings"),
            ("cache.hits:1|c|#type:graph", "graph_traversal"),
            ("cache_hit:1|c|#cache:search", "search_results"),
            // plain statsd client: no tags
            ("cache.hit.search_results:1|c", "search_results"),
            ("cache.hit.emb:1|c", "embeddings"),
            ("cache.search.hit:1|c", "search_results"),
            ("cache.graph_traversal.hit:1|c", "graph_traversal"),
            ("cache.hit.sessions:1|c", "sessions"),
        ])
    func hitForms(line: String, type: String) {
        let samples = Self.flushed(line)
        #expect(Self.value(samples, "app_cache_hit_total", type) == 1)
        #expect(samples.filter { $0.name.hasPrefix("app_") }.count == 1)
    }

    @Test func missesAndHitsOfOneTypeStayApart() {
        let samples = Self.flushed(
            "cache.miss:2|c|#cache:search_results\ncache.search.miss:1|c\ncache.misses.search:1|c\ncache.hit.search:5|c"
        )
        #expect(Self.value(samples, "app_cache_miss_total", "search_results") == 4)
        #expect(Self.value(samples, "app_cache_hit_total", "search_results") == 5)
    }

    @Test(
        "other counters are left alone",
        arguments: ["cache.hit:1|c", "cache.evictions:1|c", "cache.hit.:1|c", "mycache.hit:1|c", "cache..hit:1|c"])
    func notCacheCounters(line: String) {
        let samples = Self.flushed(line)
        #expect(samples.allSatisfy { $0.labels["cache"] == nil })
    }

    @Test func matchReportsOutcomeAndRawType() {
        #expect(
            CacheCounterNames.match("cache.hit", tags: [("cache", "x")])
                == CacheCounterNames.Match(outcome: .hit, rawType: "x"))
        #expect(CacheCounterNames.match("cache.a.b.miss", tags: []) == .init(outcome: .miss, rawType: "a.b"))
        #expect(CacheCounterNames.match("cache.hit", tags: []) == .init(outcome: .hit, rawType: nil))
        #expect(CacheCounterNames.match("search.latency", tags: []) == nil)
    }

    @Test func prefixesComeFromTheConfiguredPatterns() {
        let names = CacheCounterNames(cacheTypes: [
            .init(name: "sessions", pattern: "sess:v2:*"), .init(name: "whole", pattern: "fixedkey"),
        ])
        #expect(names.resolve("sess:v2") == "sessions")
        #expect(names.resolve("sess:v2:") == "sessions")
        #expect(names.resolve("sessions") == "sessions")
        #expect(names.resolve("fixedkey") == "fixedkey")
        #expect(CacheCounterNames.keyPrefix("search:*") == "search")
        #expect(CacheCounterNames.keyPrefix("plain") == nil)
    }

    @Test func hugeTypesAreCutOrRefused() {
        // Tag-less: the type is the rest of the name (names up to 250 bytes), cut to 200 bytes.
        let named = Self.flushed("cache.hit." + String(repeating: "x", count: 240) + ":1|c")
        let type = named.first { $0.name == "app_cache_hit_total" }?.labels["cache"]
        #expect(type.map { $0.utf8.count == AppAggregator.maxLabelValueBytes } == true)
        // Tagged: a tag over 200 bytes makes the line malformed (counted), nothing stored.
        let tagged = Self.flushed("cache.hit:1|c|#cache:" + String(repeating: "é", count: 150))
        #expect(tagged.allSatisfy { $0.name.hasPrefix("mon_agent_") })
        #expect(tagged.first { $0.name == "mon_agent_statsd_malformed_total" }?.value == 1)
    }

    @Test func endlessDistinctTypesFoldIntoOtherAndAreCounted() {
        let lines = (0..<(CacheCounterNames.maxTypes + 10)).map { "cache.hit.t\($0):1|c" }.joined(separator: "\n")
        let samples = Self.flushed(lines)
        let types = Set(samples.filter { $0.name == "app_cache_hit_total" }.compactMap { $0.labels["cache"] })
        #expect(types.count == CacheCounterNames.maxTypes + 1)
        #expect(Self.value(samples, "app_cache_hit_total", "other") == 10)
        #expect(samples.first { $0.name == "mon_agent_statsd_folded_total" }?.value == 10)
    }
}
