import Testing

@testable import MonCore
@testable import MonQueryKit

struct MinutePlanTests {
    /// A minute boundary.
    let minute: Int64 = 1_764_400_020_000

    func range(endMs: Int64, period: String = "5m") throws -> TimeRange {
        try TimeRange(period: period, step: "1m", nowMs: endMs)
    }

    @Test("whole minutes up to the watermark from the rollup; the partial first minute and the tail raw")
    func splitsAtMinutes() throws {
        let range = try range(endMs: minute + 7_300)
        let plan = MinutePlan(range: range, watermarkMs: minute - 60_000)
        #expect(plan.startMs == minute - 292_700 && plan.endMs == minute + 7_300)
        #expect(plan.minutesFromMs == minute - 240_000 && plan.minutesToMs == minute - 60_000 && plan.readsMinutes)
        let source = plan.histogramSource(seriesFilter: "SELECT 1")
        #expect(source.components(separatedBy: "FROM histograms\n").count == 3, "raw head and tail")
        #expect(source.components(separatedBy: "FROM histograms_1m\n").count == 2)
        #expect(source.contains("ts > to_timestamp(\(minute - 292_700)::double precision / 1000)"))
        #expect(source.contains("ts <= to_timestamp(\(minute - 240_000)::double precision / 1000)"))
        #expect(source.contains("ts <= to_timestamp(\(minute + 7_300)::double precision / 1000)"))
    }

    @Test("a start on a minute reads no raw head; a watermark past the end reads the last minute's row")
    func alignedEdges() throws {
        let plan = MinutePlan(range: try range(endMs: minute), watermarkMs: minute + 120_000)
        #expect(plan.minutesFromMs == minute - 300_000 && plan.minutesToMs == minute)
        let source = plan.histogramSource(seriesFilter: "SELECT 1")
        #expect(!source.contains("FROM histograms\n") && source.contains("FROM histograms_1m\n"))
    }

    @Test(
        "no watermark, one before the first whole minute, or inside the partial first minute: all raw",
        arguments: [nil, -400_000, -299_000, -240_001] as [Int64?])
    func allRaw(watermarkOffset: Int64?) throws {
        let range = try range(endMs: minute + 1_000)
        let plan = MinutePlan(range: range, watermarkMs: watermarkOffset.map { minute + $0 })
        #expect(!plan.readsMinutes && plan.minutesFromMs == range.startMs && plan.minutesToMs == range.startMs)
        let source = plan.histogramSource(seriesFilter: "SELECT 1")
        #expect(!source.contains("histograms_1m") && !source.contains("UNION"))
        #expect(source.contains("ts > to_timestamp(\(range.startMs)::double precision / 1000)"))
        #expect(source.contains("ts <= to_timestamp(\(range.endMs)::double precision / 1000)"))
    }

    @Test("a watermark between minutes counts only the minutes before it")
    func watermarkOffMinute() throws {
        let plan = MinutePlan(range: try range(endMs: minute + 1_000), watermarkMs: minute - 30_000)
        #expect(plan.minutesToMs == minute - 60_000)
    }
}
