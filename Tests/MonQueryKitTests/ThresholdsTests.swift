import MonCore
import MonQueryKit
import Testing

/// Each threshold has one home (`Thresholds`): the shipped rule, the API flag and the
/// dashboard colour all read it.
@Suite struct ThresholdsTests {
    static let rules = Dictionary(
        uniqueKeysWithValues: (try? AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>"))?
            .map { ($0.name, $0) } ?? [])

    @Test(
        "each shipped rule compares with its Thresholds entry",
        arguments: [
            ("RedisHitRateLow", Thresholds.redisHitPercent),
            ("RedisMemoryHigh", Thresholds.redisMemoryPercent),
            ("RedisEvictions", Thresholds.redisEvictionsPerHour),
            ("RedisConnectionsRejected", Thresholds.redisRejectedConnections),
            ("PostgresSlowQueries", Thresholds.postgresSlowPerHour),
            ("PostgresCacheHitLow", Thresholds.postgresCacheHitPercent),
            ("PostgresConnectionsHigh", Thresholds.postgresConnectionsPercent),
            ("PostgresLockWaits", Thresholds.postgresLockWaitSeconds),
            ("PostgresIdleInTransaction", Thresholds.postgresIdleInTransactionSeconds),
            ("HostCPUHigh", Thresholds.hostCPUPercent),
            ("HostMemoryHigh", Thresholds.hostMemoryPercent),
            ("FilesystemAlmostFull", Thresholds.filesystemUsedPercent),
            ("FilesystemFullSoon", Thresholds.filesystemHoursToFull),
            ("APIErrorRateHigh", Thresholds.apiErrorPercent),
            ("APILatencyP95High", Thresholds.apiLatencyP95Ms),
            ("AgentSilent", Thresholds.agentSilenceIntervals),
            ("IngestLagHigh", Thresholds.ingestLagSeconds),
        ])
    func ruleUsesThreshold(name: String, threshold: Threshold) throws {
        let rule = try #require(Self.rules[name], "\(name) is shipped")
        #expect(rule.threshold == threshold.limit)
        #expect(rule.resolveThreshold == (threshold.resolve ?? threshold.limit))
    }

    @Test("the product brief's values: Redis hit 70 %, slow statements 10/h, connections 80 %")
    func briefValues() {
        #expect(Thresholds.redisHitPercent.limit == 70)
        #expect(Thresholds.postgresSlowPerHour.limit == 10)
        #expect(Thresholds.postgresConnectionsPercent.limit == 80)
        #expect(Thresholds.filesystemUsedPercent.limit == 90)
        #expect(Thresholds.redisHitPercent.ratio == 0.7)
    }

    @Test("the dashboard warns exactly where the rule fires (the Redis card used to warn at 80 %)")
    func dashboardColourMatchesRule() {
        let hit = Thresholds.redisHitPercent
        #expect(Status.below(75, hit) == .ok, "75 % is above the rule's 70 %: no warning")
        #expect(Status.below(69.9, hit) == .warning)
        #expect(Status.below(hit.critical - 1, hit) == .critical)
        let connections = Thresholds.postgresConnectionsPercent
        #expect(Status.above(80, connections) == .ok)
        #expect(Status.above(80.1, connections) == .warning)
        #expect(Status.above(nil, connections) == .noData)
    }

    @Test("threshold text for YAML and messages", arguments: [(70.0, "70"), (0.5, "0.5"), (1000.0, "1000")])
    func text(value: Double, expected: String) {
        #expect(Thresholds.text(value) == expected)
    }
}
