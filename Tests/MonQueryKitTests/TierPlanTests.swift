import Testing

@testable import MonCore
@testable import MonQueryKit

struct TierPlanTests {
    let now: Int64 = 1_764_400_000_000

    @Test("the step picks the tier: < 1 min raw, whole minutes 1m, whole hours 1h")
    func tierFromStep() throws {
        let watermark = now - 30_000
        #expect(
            TierPlan(range: try TimeRange(period: "15m", step: nil, nowMs: now), watermarkMs: watermark).tier == .raw)
        #expect(
            TierPlan(range: try TimeRange(period: "1h", step: nil, nowMs: now), watermarkMs: watermark).tier == .minute)
        #expect(
            TierPlan(range: try TimeRange(period: "24h", step: "30m", nowMs: now), watermarkMs: watermark).tier
                == .minute)
        #expect(
            TierPlan(range: try TimeRange(period: "24h", step: nil, nowMs: now), watermarkMs: watermark).tier == .hour)
        let week = TierPlan(range: try TimeRange(period: "7d", step: nil, nowMs: now), watermarkMs: watermark)
        #expect(week.tier == .hour && !week.readsRaw && week.splitMs == now)
        #expect(
            TierPlan(range: try TimeRange(period: "1h", step: "90s", nowMs: now), watermarkMs: watermark).tier == .raw)
    }

    @Test("no watermark yet, or one before the range: raw")
    func rawWithoutRollups() throws {
        let range = try TimeRange(period: "30d", step: nil, nowMs: now)
        #expect(TierPlan(range: range, watermarkMs: nil).tier == .raw)
        #expect(TierPlan(range: range, watermarkMs: range.startMs - 1).tier == .raw)
    }

    @Test("the minute tier reads raw after the watermark; the hour tier only when the rollups lag")
    func splitAtWatermark() throws {
        let range = try TimeRange(period: "1h", step: nil, nowMs: now)
        let plan = TierPlan(range: range, watermarkMs: now - 75_000)
        #expect(plan.splitMs == now - 75_000 && plan.readsRaw)
        let source = plan.metricsSource(seriesFilter: "SELECT 1")
        #expect(source.contains("FROM metrics_1m r") && source.contains("FROM metrics m"))
        let lagging = TierPlan(range: try TimeRange(period: "7d", step: nil, nowMs: now), watermarkMs: now - 600_000)
        #expect(lagging.tier == .hour && lagging.readsRaw && lagging.splitMs == now - 600_000)
        let raw = TierPlan(range: range, watermarkMs: nil).metricsSource(seriesFilter: "SELECT 1")
        #expect(!raw.contains("metrics_1") && raw.contains("FROM metrics m"))
    }

    @Test("ranges merge when they overlap or touch, and align outwards")
    func ranges() {
        let merged = ClosedOpenRange.merged([
            ClosedOpenRange(120, 180), ClosedOpenRange(0, 60), ClosedOpenRange(60, 90), ClosedOpenRange(300, 300),
        ])
        #expect(merged == [ClosedOpenRange(0, 90), ClosedOpenRange(120, 180)])
        #expect(ClosedOpenRange(61_000, 119_999).aligned(to: 60_000) == ClosedOpenRange(60_000, 120_000))
        #expect(ClosedOpenRange(60_000, 120_000).aligned(to: 60_000) == ClosedOpenRange(60_000, 120_000))
        #expect(ClosedOpenRange.floor(-1, 60_000) == -60_000)
    }
}
