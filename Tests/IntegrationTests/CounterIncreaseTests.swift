import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// `QueryStore.increase` over a range the minute rollups already cover: a counter that starts
/// (from the agent's zero sample) inside a rolled-up minute keeps the growth of that minute.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct CounterIncreaseTests {
    @Test("a counter born inside a rolled-up minute: its first minute's growth is counted")
    func firstRolledUpMinuteCounts() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let writer = try await daemon.migratedWriter(nowMs: now)
        let watermark = (now - 15_000) / 60_000 * 60_000
        func counter(_ type: String, _ outcome: String, _ points: [(Int64, Double)]) -> [Sample] {
            points.map {
                Sample("app_cache_\(outcome)_total", ["cache": type], value: $0.1, kind: .counter, timestampMs: $0.0)
            }
        }
        let minute: Int64 = 60_000
        let samples =
            // Born 3 minutes ago (zero sample, then 3 a millisecond later), flat since.
            counter(
                "search_results", "hit",
                [
                    (watermark - 3 * minute + 5_000, 0), (watermark - 3 * minute + 5_001, 3),
                    (watermark - 2 * minute + 5_000, 3), (watermark - minute + 5_000, 3), (watermark + 1_000, 3),
                ])
            // Born and grown inside one rolled-up minute: a single rollup row.
            + counter("embeddings", "hit", [(watermark - 2 * minute + 1_000, 0), (watermark - 2 * minute + 2_000, 5)])
            // Born after the watermark: raw rows only.
            + counter("search_results", "miss", [(watermark + 2_000, 0), (watermark + 3_000, 1)])
            // 7, then 8 and a reset to 2 in one rolled-up minute: seen as a reset at the
            // minute's end (+2; the +1 before the reset is inside the unit).
            + counter(
                "graph_traversal", "hit",
                [
                    (watermark - 4 * minute + 1_000, 7), (watermark - 3 * minute + 1_000, 8),
                    (watermark - 3 * minute + 2_000, 2),
                ])
        let agent = AgentIdentity(agentID: "increase", host: "h1", bootID: "b")
        let stored = try await writer.store(Batch(seq: 1, createdMs: now, samples: samples), from: agent, nowMs: now)
        #expect(stored == .stored(samples: samples.count, rejected: 0))
        _ = try await RollupWriter(databaseURL: daemon.databaseURL).catchUp(nowMs: now)

        let store = QueryStore(databaseURL: daemon.databaseURL)
        let range = try TimeRange(period: "10m", step: "1m", nowMs: now)
        func increases(_ outcome: String) async throws -> [String: Double] {
            var result: [String: Double] = [:]
            for entry in try await store.increase(name: "app_cache_\(outcome)_total", host: "h1", range: range) {
                result[entry.labels["cache"] ?? ""] = entry.value
            }
            return result
        }
        #expect(try await increases("hit") == ["search_results": 3, "embeddings": 5, "graph_traversal": 2])
        #expect(try await increases("miss") == ["search_results": 1])
    }
}
