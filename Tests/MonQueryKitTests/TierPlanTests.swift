import Testing

@testable import MonCore
@testable import MonQueryKit

struct TierPlanTests {
    let now: Int64 = 1_764_400_000_000

    @Test("the step picks the tier: < 1 min raw, whole minutes 1m, whole hours 1h, whole six hours 6h")
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
        #expect(week.tier == .sixHours && !week.readsRaw && week.splitMs == now)
        #expect(
            TierPlan(range: try TimeRange(period: "30d", step: nil, nowMs: now), watermarkMs: watermark).tier
                == .sixHours)
        #expect(
            TierPlan(range: try TimeRange(period: "7d", step: "2h", nowMs: now), watermarkMs: watermark).tier == .hour)
        #expect(
            TierPlan(
                range: try TimeRange(period: "30d", step: nil, nowMs: now), watermarkMs: watermark, coarsest: .hour
            ).tier == .hour)
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
        #expect(lagging.tier == .sixHours && lagging.readsRaw && lagging.splitMs == now - 600_000)
        let raw = TierPlan(range: range, watermarkMs: nil).metricsSource(seriesFilter: "SELECT 1")
        #expect(!raw.contains("metrics_1") && raw.contains("FROM metrics m"))
    }

    /// The SQL's `to_timestamp(ms::double precision / 1000)` bounds, as milliseconds, of the
    /// part reading `table`.
    static func bounds(_ sql: String, _ table: String) -> [Int64] {
        let part = sql.components(separatedBy: "UNION ALL").first {
            $0.contains("FROM \(table) ") || $0.contains("FROM \(table)\n")
        }
        guard let part else { return [] }
        return part.matches(of: /to_timestamp\((-?[0-9]+)::double precision/).compactMap { Int64($0.output.1) }
    }

    @Test("six-hour tier: hour rows up to the range's first 6-hour boundary, six-hour rows after it")
    func sixHourHead() throws {
        let range = try TimeRange(period: "7d", step: nil, nowMs: now)
        let plan = TierPlan(range: range, watermarkMs: now - 30_000)
        let boundary = (range.startMs / 21_600_000 + 1) * 21_600_000
        #expect(range.startMs % 21_600_000 != 0)
        let metrics = plan.metricsSource(seriesFilter: "SELECT 1")
        #expect(Self.bounds(metrics, "metrics_1h r") == [range.startMs, boundary])
        #expect(Self.bounds(metrics, "metrics_6h r") == [boundary, now])
        #expect(!metrics.contains("FROM metrics m"))
        let histograms = plan.histogramSource(seriesFilter: "SELECT 1")
        #expect(Self.bounds(histograms, "histograms_1h") == [range.startMs, boundary])
        // The unit holding the end is stamped with its end, after `now`.
        let lastUnitEnd = (now / 21_600_000 + 1) * 21_600_000
        #expect(Self.bounds(histograms, "histograms_6h") == [boundary, lastUnitEnd])
        // The unit of the start is a sixth of the increase query's unit lookups.
        let increase = plan.firstUnitIncrease(value: "v", firstRaw: "f")
        #expect(increase.contains("interval '1 hour'") && increase.contains("interval '6 hours'"))
    }

    @Test("one figure over a range: minute rows up to the first whole hour, hour rows to the watermark, raw after")
    func aggregatingPlan() throws {
        let range = try TimeRange(period: "6h", step: nil, nowMs: now)
        let watermark = now - 45_000
        let plan = TierPlan(aggregating: range, watermarkMs: watermark)
        let hour = (range.startMs / 3_600_000 + 1) * 3_600_000
        #expect(plan.tier == .hour && plan.readsRaw && plan.splitMs == watermark)
        let source = plan.metricsSource(seriesFilter: "SELECT 1")
        #expect(Self.bounds(source, "metrics_1m r") == [range.startMs, hour])
        #expect(Self.bounds(source, "metrics_1h r") == [hour, watermark])
        #expect(Self.bounds(source, "metrics m") == [watermark, now])
        // Shorter than to the next whole hour: minute rows only.
        let short = TierPlan(aggregating: try TimeRange(period: "5m", step: nil, nowMs: now), watermarkMs: watermark)
        let shortSource = short.metricsSource(seriesFilter: "SELECT 1")
        #expect(!shortSource.contains("metrics_1h") && shortSource.contains("metrics_1m"))
        #expect(TierPlan(aggregating: range, watermarkMs: nil).tier == .raw)
    }

    @Test("lagging rollups: a histogram unit holding the watermark is read whole, raw windows after the watermark")
    func laggingHistogramsKeepThePartialUnit() throws {
        let watermark = (now / 3_600_000) * 3_600_000 + 20 * 60_000 - 3_600_000
        let plan = TierPlan(range: try TimeRange(period: "24h", step: nil, nowMs: now), watermarkMs: watermark)
        #expect(plan.tier == .hour && plan.readsRaw && plan.splitMs == watermark)
        let source = plan.histogramSource(seriesFilter: "SELECT 1")
        // Before, the hour rows stopped at the watermark: the row of its hour (stamped with
        // the hour's end) was left out, and with it the minutes between the hour's start and
        // the watermark.
        #expect(Self.bounds(source, "histograms_1h").last == watermark + 40 * 60_000)
        #expect(Self.bounds(source, "histograms") == [watermark, now])
    }

    @Test("a range minus others: the parts outside them")
    func subtracting() {
        let range = ClosedOpenRange(0, 100)
        #expect(range.subtracting([]) == [range])
        #expect(range.subtracting([ClosedOpenRange(-10, 0), ClosedOpenRange(100, 120)]) == [range])
        #expect(
            range.subtracting([ClosedOpenRange(10, 20), ClosedOpenRange(50, 60)])
                == [ClosedOpenRange(0, 10), ClosedOpenRange(20, 50), ClosedOpenRange(60, 100)])
        #expect(range.subtracting([ClosedOpenRange(-5, 30), ClosedOpenRange(90, 200)]) == [ClosedOpenRange(30, 90)])
        #expect(range.subtracting([ClosedOpenRange(-5, 500)]).isEmpty)
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
