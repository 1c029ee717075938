import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The shipped API rules (error rate and P95, both over 5 minutes) read the fleet's request
/// histograms through one scan per evaluation pass, not one each: at hundreds of hosts that
/// scan is one of the largest statements the daemon runs.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct AlertPassSharingTests {
    /// A database with `RecentRequestStatsTests.writeWindows` up to now, and the shipped rules named `names`.
    static func windowsAndRules(_ names: Set<String>) async throws -> (daemon: Daemon, now: Int64, rules: [AlertRule]) {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        try await RecentRequestStatsTests.writeWindows(daemon, nowMs: now)
        let rules = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>")
            .filter { names.contains($0.name) }
        return (daemon, now, rules)
    }

    @Test("two API rules of one window: one scan of the request histograms per pass, both evaluated")
    func apiRulesShareOneScan() async throws {
        let (daemon, now, rules) = try await Self.windowsAndRules(["APIErrorRateHigh", "APILatencyP95High"])
        #expect(rules.count == 2 && Set(rules.map(\.windowSeconds)).count == 1)
        let evaluator = AlertEvaluator(
            rules: rules, store: QueryStore(databaseURL: daemon.databaseURL),
            alerts: AlertStore(databaseURL: daemon.databaseURL), cache: LastValueCache(), stats: IngestStats(),
            webhook: nil, logger: .init(label: "test"))
        await evaluator.evaluate(nowMs: now)
        #expect(await evaluator.failing.isEmpty)
        #expect(await evaluator.endpointScans == 1)
        // Half the requests answered 503: the error-rate rule fires (pending first) on both hosts.
        let active = await evaluator.active
        #expect(Set(active.filter { $0.rule == "APIErrorRateHigh" }.map(\.host)) == ["h1", "h2"], "\(active)")
        // The next pass reads again (the shared result lives for one pass only).
        await evaluator.evaluate(nowMs: now + 10_000)
        #expect(await evaluator.endpointScans == 2)
    }
}
