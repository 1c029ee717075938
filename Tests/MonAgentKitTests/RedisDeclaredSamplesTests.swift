import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The Redis collector emits every family the catalogue declares with an INFO source, with the
/// field's value as is: declaring one is all it takes to collect it (ARCHITECTURE.md's recipe).
@Suite struct RedisDeclaredSamplesTests {
    @Test func everyDeclaredInfoFieldOfTheCapturedReplyIsEmitted() throws {
        let info = try RedisInfoParser.parse(RedisFixtures.text("info.txt"))
        let samples = RedisCollector.declaredSamples(info, timestampMs: 5_000)
        #expect(samples.count == MetricCatalogue.redisInfoFields.count)
        for descriptor in MetricCatalogue.redisInfoFields {
            guard case .redisInfo(let section, let key)? = descriptor.source else {
                Issue.record("\(descriptor.name) has no INFO source")
                continue
            }
            let sample = samples.first { $0.name == descriptor.name }
            #expect(sample?.value == info.value(section, key).flatMap(Double.init), "\(descriptor.name)")
            #expect(sample?.kind == (descriptor.type == .counter ? .counter : .gauge), "\(descriptor.name)")
            #expect(sample?.timestampMs == 5_000)
        }
        #expect(samples.value("mon_redis_connected_clients") == 1)
        #expect(samples.value("mon_redis_uptime_seconds") == 10)
        #expect(samples.value("mon_redis_memory_fragmentation_ratio") == 6.09)
    }

    @Test("an absent field, or one that is not a finite number, is left out")
    func absentOrNotFinite() {
        let info = RedisInfo(sections: [
            "clients": ["connected_clients": "inf", "blocked_clients": "nan"],
            "memory": ["used_memory": "1e400", "maxmemory": "12"],
        ])
        let samples = RedisCollector.declaredSamples(info, timestampMs: 0)
        #expect(samples.map(\.name) == ["mon_redis_memory_max_bytes"])
        #expect(samples.value("mon_redis_memory_max_bytes") == 12)
    }
}
