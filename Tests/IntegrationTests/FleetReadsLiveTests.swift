import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The fleet's request statistics read once (`FleetReads`, `QueryStore.fleetRequestStats`)
/// answer what the reads they replace answered on the same data: per host
/// (`endpointStatsByHost`: the summary, the alert rules) and per endpoint
/// (`endpointStats(perStep: false)`: the anomaly monitor's current window).
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct FleetReadsLiveTests {
    typealias Figures = RecentRequestStatsTests.Figures

    @Test("one scan per host and per endpoint equals the two reads it replaces: rolled up, partly, not at all")
    func oneScanEqualsTheReadsItReplaces() async throws {
        let (daemon, minute, now) = try await RecentRequestStatsTests.rolledUp(msPastMinute: 41_900)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        for watermark in [minute, minute - 150_000, nil] as [Int64?] {
            try RecentRequestStatsTests.setWatermark(daemon, watermark)
            let range = try TimeRange(period: "5m", step: "1m", nowMs: now)
            let fleet = try await store.fleetRequestStats(range: range)
            let byHost = try await store.endpointStatsByHost(host: nil, range: range)
            #expect(fleet.byHost.keys.sorted() == ["h1", "h2"])
            #expect(fleet.byHost.mapValues { $0.map(\.endpoint) } == byHost.mapValues { $0.map(\.endpoint) })
            #expect(
                fleet.byHost.mapValues { $0.map(Figures.init) } == byHost.mapValues { $0.map(Figures.init) },
                "watermark \(String(describing: watermark))")
            let byEndpoint = try await store.endpointStats(host: nil, range: range, perStep: false)
            #expect(fleet.byEndpoint.map { "\($0.method) \($0.endpoint)" } == ["GET /v1/a", "GET /v1/b"])
            #expect(
                fleet.byEndpoint.map { "\($0.method) \($0.endpoint)" }
                    == byEndpoint.map { "\($0.method) \($0.endpoint)" })
            #expect(fleet.byEndpoint.map(Figures.init) == byEndpoint.map(Figures.init))
            #expect(fleet.byEndpoint.map(\.sources) == byEndpoint.map(\.sources))
            #expect(fleet.byEndpoint.map(\.requests).reduce(0, +) > 0)
        }
    }

    @Test("the alert rules take the figures and increases the summary just read: no read of their own, the same alerts")
    func alertRulesShareTheFleetRead() async throws {
        let (daemon, now, rules) = try await AlertPassSharingTests.windowsAndRules([
            "APIErrorRateHigh", "APILatencyP95High", "PostgresSlowQueries",
        ])
        #expect(rules.count == 3)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let requests = FleetReads(store: store)
        func evaluator(_ requests: FleetReads?) -> AlertEvaluator {
            AlertEvaluator(
                rules: rules, store: store, alerts: AlertStore(databaseURL: daemon.databaseURL),
                cache: LastValueCache(), stats: IngestStats(), webhook: nil, fleet: requests,
                logger: .init(label: "test"))
        }
        // What the summary reads (the same window, a moment before the pass).
        let summary = try await requests.figures(windowSeconds: 300, nowMs: now - 200)
        #expect(summary.byHost.count == 2)
        _ = try await requests.increase(
            name: "mon_postgres_statements_slow_total", windowSeconds: 3600, nowMs: now - 200)
        let shared = evaluator(requests)
        await shared.evaluate(nowMs: now)
        #expect(await shared.failing.isEmpty)
        #expect(await shared.endpointScans == 0 && requests.reads.figures == 1 && requests.reads.increases == 1)
        let alone = evaluator(nil)
        await alone.evaluate(nowMs: now)
        #expect(await alone.endpointScans == 1)
        func firing(_ evaluator: AlertEvaluator) async -> [String] {
            await evaluator.active.map { "\($0.rule) \($0.host) \($0.state.rawValue)" }
        }
        #expect(await firing(shared) == firing(alone))
        #expect(await firing(shared).contains("APIErrorRateHigh h1 pending"))
    }

    @Test("the anomaly monitor's current window of the API signals comes from the shared read, with the same values")
    func anomalyMonitorSharesTheFleetRead() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        try await RecentRequestStatsTests.writeWindows(daemon, nowMs: now)
        var settings = AnomalySettings()
        settings.signals = [.apiLatencyP95, .apiErrorRate]
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let requests = FleetReads(store: store)
        let shared = AnomalyMonitor(settings: settings, store: store, fleet: requests, logger: .init(label: "test"))
        let alone = AnomalyMonitor(settings: settings, store: store, logger: .init(label: "test"))
        func current(_ report: AnomalyReport) -> [String] {
            report.findings.map { "\($0.subject) \($0.verdict?.current ?? -1)" }.sorted()
        }
        let sharedReport = await shared.evaluate(nowMs: now)
        let aloneReport = await alone.evaluate(nowMs: now)
        #expect(sharedReport.failures.isEmpty && aloneReport.failures.isEmpty)
        #expect(requests.reads.figures == 1)
        #expect(current(sharedReport).count == 3, "two endpoints' P95 and the error rate: \(current(sharedReport))")
        #expect(current(sharedReport) == current(aloneReport))
    }
}
