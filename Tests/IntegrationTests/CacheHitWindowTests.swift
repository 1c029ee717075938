import Foundation
import MonCore
import MonQueryKit
import Testing

/// `/redis/keys` gathers the hits and misses of its period and of each `hit_rates` window with
/// concurrent queries on the pool's connections (issue 21): each answer must land in its own
/// window, hits as hits. The seeded counters give every window its own hit rate, so a swap of
/// two windows, of hits and misses, or of the period and a window shows.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct CacheHitWindowTests {
    @Test("/redis/keys: the period's and each window's hits and misses in their own place")
    func windowsKeepTheirCounts() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let agent = AgentIdentity(agentID: "hits", host: "hits-1", bootID: "b")
        // A sample a minute for 7 hours (30 s off the minute). Per minute: the last 15 minutes
        // 9 hits and 1 miss, the 45 before 1 and 1, everything older 1 and 9.
        var (hits, misses) = (0.0, 0.0)
        var samples: [Sample] = []
        for age in (0..<420).reversed() {
            let (hit, miss) = age < 15 ? (9.0, 1.0) : age < 60 ? (1.0, 1.0) : (1.0, 9.0)
            hits += hit
            misses += miss
            let ts = now - Int64(age) * 60_000 - 30_000
            samples.append(
                Sample(
                    CacheCounterNames.metricName(.hit, prefix: "app_"), ["cache": "sessions"], value: hits,
                    timestampMs: ts))
            samples.append(
                Sample(
                    CacheCounterNames.metricName(.miss, prefix: "app_"), ["cache": "sessions"], value: misses,
                    timestampMs: ts))
        }
        _ = try await writer.store(Batch(seq: 1, createdMs: now, samples: samples), from: agent, nowMs: now)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("monquery answering") { () -> Bool? in
            (try? await daemon.get("/health"))?.status == 200 ? true : nil
        }

        func sessions(_ path: String) async throws -> [String: Any] {
            let (status, json) = try await daemon.get(path)
            #expect(status == 200, "\(path): \(json)")
            let hosts = try #require((json as? [String: Any])?["hosts"] as? [[String: Any]])
            let types = try #require(hosts.first?["cache_types"] as? [[String: Any]])
            return try #require(types.first { $0["type"] as? String == "sessions" }, "\(types)")
        }
        func number(_ value: Any?) -> Double { (value as? NSNumber)?.doubleValue ?? .nan }

        let keys = try await sessions("/api/monitoring/redis/keys?period=6h")
        let rates = try #require(keys["hit_rates"] as? [[String: Any]])
        #expect(rates.map { $0["period"] as? String } == ["15m", "1h", "6h"])
        // (hits, misses) expected per window, give or take the minute at each edge: up to 2 × 9
        // (a loaded run answered 2 742 of 2 760 misses over 6 h, one 9-miss minute off each edge).
        let expected: [(Double, Double)] = [(15 * 9, 15), (15 * 9 + 45, 15 + 45), (15 * 9 + 45 + 300, 15 + 45 + 2700)]
        for (rate, (hits, misses)) in zip(rates, expected) {
            let period = rate["period"] as? String ?? "?"
            #expect(abs(number(rate["hits"]) - hits) <= 18, "hits over \(period): \(rate)")
            #expect(abs(number(rate["misses"]) - misses) <= 18, "misses over \(period): \(rate)")
            #expect(abs(number(rate["hit_rate_percent"]) - hits / (hits + misses) * 100) <= 3, "\(period): \(rate)")
        }
        // The period's own rate is the 6-hour window's; each window's is the period's of that length.
        #expect(abs(number(keys["hit_rate_percent"]) - number(rates[2]["hit_rate_percent"])) < 0.5, "\(keys)")
        for rate in rates {
            let period = rate["period"] as? String ?? "?"
            let alone = try await sessions("/api/monitoring/redis/keys?period=\(period)")
            #expect(
                abs(number(alone["hit_rate_percent"]) - number(rate["hit_rate_percent"])) < 0.5,
                "\(period): \(alone["hit_rate_percent"] ?? "nil") vs \(rate)")
        }
        // The default period (1 h) is the 1-hour window, queried once for both.
        let defaults = try await sessions("/api/monitoring/redis/keys")
        #expect(abs(number(defaults["hit_rate_percent"]) - number(rates[1]["hit_rate_percent"])) < 0.5, "\(defaults)")
        // /redis/stats reads the same counts for its period.
        let (_, stats) = try await daemon.get("/api/monitoring/redis/stats?period=15m")
        let statsHost = ((stats as? [String: Any])?["hosts"] as? [[String: Any]])?.first
        #expect(abs(number(statsHost?["cache_hit_rate_percent"]) - number(rates[0]["hit_rate_percent"])) < 0.5)
    }
}
