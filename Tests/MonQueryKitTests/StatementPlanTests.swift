import MonCore
import Testing

@testable import MonQueryKit

/// Which parts of a statement query come from `statements_1h` and which from raw events.
struct StatementPlanTests {
    let hour: Int64 = 3_600_000
    /// 2026-12-04 12:20:00 UTC.
    let now: Int64 = 1_796_386_800_000 + 20 * 60_000

    func range(_ period: String) throws -> TimeRange { try TimeRange(period: period, step: nil, nowMs: now) }

    @Test func withoutTheRollupEverythingIsRaw() throws {
        let day = try range("24h")
        for (rolled, watermark) in [(nil, now - 60_000), (now - 10 * hour, nil), (Int64?.none, Int64?.none)] {
            let plan = StatementPlan(range: day, rolledFromMs: rolled, watermarkMs: watermark)
            #expect(plan.hoursFromMs == plan.hoursToMs)
            #expect(plan.headFromMs == day.startMs)
        }
    }

    @Test func hourRowsServeUpToTheWatermarkAndRawAfterIt() throws {
        let day = try range("24h")
        let watermark = now - 75_000
        let plan = StatementPlan(range: day, rolledFromMs: now - 30 * hour, watermarkMs: watermark)
        // The first whole hour inside the period, 12:00 the day before (the period starts 12:20).
        #expect(plan.hoursFromMs == ClosedOpenRange.floor(day.startMs, hour) + hour)
        #expect(plan.hoursToMs == watermark)
        // A day or more: the partial first hour is left out, not read raw.
        #expect(plan.headFromMs == plan.hoursFromMs)
    }

    @Test func shortPeriodsReadTheirPartialFirstHourRaw() throws {
        let six = try range("6h")
        let plan = StatementPlan(range: six, rolledFromMs: now - 30 * hour, watermarkMs: now - 60_000)
        #expect(plan.headFromMs == six.startMs)
        #expect(plan.hoursFromMs == ClosedOpenRange.floor(six.startMs, hour) + hour)
    }

    @Test func hoursBeforeTheRollupExistedAreReadRaw() throws {
        let week = try range("7d")
        let rolledFrom = ClosedOpenRange.floor(now - 2 * 24 * hour, hour)
        let plan = StatementPlan(range: week, rolledFromMs: rolledFrom, watermarkMs: now - 60_000)
        #expect(plan.headFromMs == week.startMs)
        #expect(plan.hoursFromMs == rolledFrom)
    }

    @Test func aRollupThatStartedAfterTheWatermarkHourIsNotUsed() throws {
        // The marker lies after the watermark (it cannot in practice; nothing is read twice).
        let plan = StatementPlan(range: try range("24h"), rolledFromMs: now, watermarkMs: now - 2 * hour)
        #expect(plan.hoursFromMs == plan.hoursToMs)
    }
}
