import Testing

@testable import MonCore
@testable import MonQueryKit

/// The PostgreSQL page's slow-statement timeline buckets and the application pool's figures
/// (issue 24).
struct PostgresPanelTests {
    let now: Int64 = 1_796_350_212_345

    @Test("default step: about a dozen buckets under 6 h (at least the minute), then the hour, 6 h, the day")
    func defaultStep() throws {
        func step(_ period: String) throws -> Int64 {
            StatementTimeline.defaultStepSeconds(try TimeRange(period: period, step: nil, nowMs: now))
        }
        #expect(try step("5m") == 60 && step("1h") == 300 && step("6h") == 3_600 && step("24h") == 3_600)
        #expect(try step("7d") == 21_600 && step("30d") == 86_400)
        #expect(
            StatementTimeline.readsHourRows(stepSeconds: 3_600) && StatementTimeline.readsHourRows(stepSeconds: 21_600))
        #expect(
            !StatementTimeline.readsHourRows(stepSeconds: 300) && !StatementTimeline.readsHourRows(stepSeconds: 5_400))
    }

    @Test("columns start at step multiples and hold the range's start; buckets sum calls and time, mean = time / calls")
    func buckets() throws {
        let range = try TimeRange(period: "1h", step: nil, nowMs: now)
        let columns = StatementTimeline.columns(range, stepSeconds: 300)
        #expect(columns.count == 13 || columns.count == 12)
        #expect(columns.first.map { $0 <= range.startMs && $0 + 300_000 > range.startMs } == true)
        #expect(columns.allSatisfy { $0 % 300_000 == 0 } && columns.last.map { $0 < range.endMs } == true)
        let (first, third) = (columns[0], columns[2])
        let rows: [StatementTimeline.Row] = [
            .init(host: "h", key: "1:42", startMs: first, calls: 2, totalMs: 100),
            .init(host: "h", key: "1:42", startMs: first, calls: 3, totalMs: 400),
            .init(host: "h", key: "1:42", startMs: third, calls: 1, totalMs: 7),
            // Outside the columns, or not numbers a delta can be: ignored / nothing.
            .init(host: "h", key: "1:42", startMs: first - 300_000, calls: 9, totalMs: 9),
            .init(host: "h", key: "1:42", startMs: third, calls: -4, totalMs: .nan),
            .init(host: "h", key: "1:42", startMs: third, calls: .infinity, totalMs: -1),
        ]
        let buckets = StatementTimeline.buckets(rows, columns: columns)
        #expect(buckets.count == columns.count)
        #expect(buckets[0] == .init(startMs: first, calls: 5, meanMs: 100))
        #expect(buckets[1] == .init(startMs: columns[1], calls: 0, meanMs: nil))
        #expect(buckets[2] == .init(startMs: third, calls: 1, meanMs: 7))
        #expect(buckets.dropFirst(3).allSatisfy { $0.calls == 0 && $0.meanMs == nil })
    }

    @Test(
        "pool figures: usage of size; negative, NaN, infinite or huge figures refused by name; negative overflow is none"
    )
    func poolFigures() {
        let normal = AppPool(size: 20, checkedOut: 7, overflow: 2)
        #expect(normal.usagePercent == 35 && normal.problems.isEmpty && normal.overflow == 2)
        #expect(AppPool(size: 5, checkedOut: 8, overflow: 3).usagePercent == 160)
        // SQLAlchemy's overflow() is -pool_size until the pool has opened its connections.
        #expect(AppPool(size: 20, checkedOut: 1, overflow: -19).overflow == 0)
        let hostile = AppPool(size: -5, checkedOut: .nan, overflow: 1e308)
        #expect(hostile.size == nil && hostile.checkedOut == nil && hostile.overflow == nil)
        #expect(hostile.usagePercent == nil && hostile.problems.count == 3)
        #expect(hostile.problems[0].hasPrefix("db.pool.size -5 is not a pool figure"), "\(hostile.problems)")
        #expect(hostile.problems[1].hasPrefix("db.pool.checked_out NaN"), "\(hostile.problems)")
        #expect(AppPool(size: .infinity, checkedOut: 1, overflow: -.infinity).problems.count == 2)
        #expect(AppPool(size: 0, checkedOut: 0, overflow: nil).usagePercent == nil)
        #expect(AppPool(size: nil, checkedOut: nil, overflow: nil) == .init(size: nil, checkedOut: nil, overflow: nil))
    }
}
