import Testing

@testable import MonCore
@testable import MonQueryKit

/// The summary's cards as typed values: what the endpoint renders and the dashboard reads.
@Suite struct SummaryViewTests {
    static func gauge(
        _ host: String, _ name: String, _ value: Double, ms: Int64 = 1_000, _ labels: [String: String] = [:]
    )
        -> Summary.Gauge
    {
        Summary.Gauge(host: host, name: name, labels: labels, value: value, timestampMs: ms)
    }

    static let empty = Summary.Figures(slow: [], apiHosts: [:], cacheCounts: [:])

    @Test func overallShowsTheWorstHostAndPerHostCardsTheirOwn() {
        let gauges = [
            Self.gauge("a", "mon_host_cpu_usage_ratio", 0.2, ["cpu": "all"]),
            Self.gauge("a", "mon_host_cpu_usage_ratio", 0.99, ["cpu": "cpu0"]),  // not the cpu=all series
            Self.gauge("b", "mon_host_cpu_usage_ratio", 0.9, ["cpu": "all"]),
            Self.gauge("a", "mon_redis_hit_ratio", 0.95), Self.gauge("b", "mon_redis_hit_ratio", 0.5),
            Self.gauge("a", "mon_postgres_connections_used_ratio", 0.3),
            Self.gauge("a", "mon_postgres_cache_hit_ratio", 0.99, ms: 1_000),
            Self.gauge("a", "mon_postgres_cache_hit_ratio", 0.97, ms: 2_000),  // the newest wins
        ]
        let figures = Summary.Figures(
            slow: [("a", [:], 4), ("b", [:], 8)], apiHosts: [:], cacheCounts: ["a": ["search": (3, 1)]])
        let summary = Summary(gauges: gauges, figures: figures, host: nil, apiWindowSeconds: 300, nowMs: 5_000)
        #expect(summary.hosts.map(\.name) == ["a", "b"])
        #expect(summary.overall.hosts == 2)
        #expect(summary.overall.system.cpuPercent == 90)
        #expect(summary.overall.redis.hitRatePercent == 50)
        #expect(summary.overall.postgres.slowQueriesLastHour == 12)
        #expect(summary.overall.redis.cacheHitRatePercent == 75)
        let a = summary.hosts[0]
        #expect(a.system.cpuPercent == 20)
        #expect(a.postgres.cacheHitPercent == 97)
        #expect(a.postgres.slowQueriesLastHour == 4)
        #expect(a.updatedMs == 2_000)
        #expect(summary.singleHost == nil)
    }

    @Test("one host's figures taken from the fleet's give that host's summary, overall included")
    func oneHostFromTheFleetFigures() {
        let fleet = Summary.Figures(
            slow: [("a", ["query_id": "1"], 4), ("b", [:], 8), ("a", ["query_id": "2"], 1)], apiHosts: [:],
            cacheCounts: ["a": ["search": (3, 1)], "b": ["search": (0, 5)]])
        let own = Summary.Figures(
            slow: [("a", ["query_id": "1"], 4), ("a", ["query_id": "2"], 1)], apiHosts: [:],
            cacheCounts: ["a": ["search": (3, 1)]])
        let gauges = [Self.gauge("a", "mon_host_load1", 1.5), Self.gauge("b", "mon_host_load1", 9)]
        func document(_ figures: Summary.Figures) -> String {
            JSONValue.object(
                Summary(gauges: gauges, figures: figures, host: "a", apiWindowSeconds: 300, nowMs: 0).jsonFields
            ).encoded()
        }
        #expect(document(fleet.only("a")) == document(own))
        #expect(document(fleet) != document(own), "the fleet's own figures would count b's slow statements")
        #expect(fleet.only("c").slow.isEmpty && fleet.only("c").cacheCounts.isEmpty)
    }

    @Test func oneHostAndNoFigures() {
        let gauges = [Self.gauge("a", "mon_host_load1", 1.5), Self.gauge("b", "mon_host_load1", 9)]
        let summary = Summary(gauges: gauges, figures: Self.empty, host: "a", apiWindowSeconds: 300, nowMs: 0)
        #expect(summary.singleHost?.system.load1 == 1.5)
        #expect(summary.overall.postgres.slowQueriesLastHour == nil, "no slow statements read: unknown, not 0")
        #expect(summary.overall.api.requestsPerSecond == 0)
        #expect(summary.overall.api.errorRatePercent == nil)
    }

    @Test func theDocumentKeepsItsKeys() {
        let summary = Summary(
            gauges: [Self.gauge("a", "mon_redis_memory_used_bytes", 10)], figures: Self.empty, host: nil,
            apiWindowSeconds: 300, nowMs: 0)
        let document = JSONValue.object(summary.jsonFields)
        #expect(document["overall"]?["redis"]?["hit_rate_percent"] == .null)
        #expect(document["overall"]?["api"]?["window"]?.stringValue == "5m")
        guard case .array(let hosts)? = document["hosts"], let host = hosts.first else {
            Issue.record("no hosts in \(document)")
            return
        }
        #expect(host["redis"]?["memory_used_bytes"]?.doubleValue == 10)
        #expect(host["postgres"]?["slow_queries_last_hour"] == .null)
        #expect(host["system"]?["load1"] == .null)
    }
}
