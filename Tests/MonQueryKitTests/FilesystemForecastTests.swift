import MonCore
import MonQueryKit
import Testing

/// `filesystem_hours_to_full` (the FilesystemFullSoon rule): hours until the available
/// bytes reach 0 at the window's fitted rate; nothing when they do not fall steadily.
@Suite struct FilesystemForecastTests {
    static let gib = 1_073_741_824.0

    /// One point a minute (as the 1-hour window's buckets), `values[i]` bytes available.
    static func minutes(_ values: [Double], start: Int64 = 1_773_150_000_000) -> [(ms: Int64, value: Double)] {
        values.enumerated().map { (start + Int64($0.offset) * 60_000, $0.element) }
    }

    @Test("losing 1 GiB a minute with 120 GiB left at the last point: full in 2 h")
    func steadyGrowth() throws {
        // 60 points from 179 GiB down to 120 GiB.
        let points = Self.minutes((0..<60).map { (179 - Double($0)) * Self.gib })
        let hours = try #require(FilesystemForecast.hoursToFull(points))
        #expect(abs(hours - 2) < 1e-9)
        #expect(FilesystemForecast.reading(points).map { abs($0 - 2) < 1e-9 } == true)
    }

    @Test("a slow fill far off: 10 GiB left losing 100 MiB an hour → 102.4 h, not firing at 24 h")
    func slowGrowth() throws {
        let perMinute = 100 * 1_048_576.0 / 60
        let points = Self.minutes((0..<60).map { 10 * Self.gib + Double(59 - $0) * perMinute })
        let hours = try #require(FilesystemForecast.hoursToFull(points))
        #expect(abs(hours - 102.4) < 1e-6)
        #expect(hours > Thresholds.filesystemHoursToFull.limit)
    }

    @Test("flat usage: no forecast; the signal reads the 8760 h cap so a firing alert resolves")
    func flat() {
        let points = Self.minutes(Array(repeating: 50 * Self.gib, count: 60))
        #expect(FilesystemForecast.hoursToFull(points) == nil)
        #expect(FilesystemForecast.reading(points) == FilesystemForecast.notFillingHours)
    }

    @Test("usage shrinking (available bytes rising): no forecast")
    func shrinking() {
        let points = Self.minutes((0..<60).map { (100 + Double($0)) * Self.gib })
        #expect(FilesystemForecast.hoursToFull(points) == nil)
        #expect(FilesystemForecast.reading(points) == FilesystemForecast.notFillingHours)
    }

    @Test("noise with a slight downward slope (r² well below 0.8): no forecast")
    func noisy() throws {
        // Alternating ±5 GiB around a line losing 0.01 GiB a minute.
        let values: [Double] = (0..<60).map { minute in
            let noise: Double = minute % 2 == 0 ? 5 : -5
            return (100 - 0.01 * Double(minute) + noise) * Self.gib
        }
        let points = Self.minutes(values)
        let fit = try #require(TrendFit(points))
        #expect(fit.slopePerHour < 0 && fit.r2 < 0.8)
        #expect(FilesystemForecast.hoursToFull(points) == nil)
    }

    @Test("too few points to judge: no forecast and no reading (an alert keeps its state)")
    func fewPoints() {
        let points = Self.minutes([10, 8, 6, 4].map { $0 * Self.gib })
        #expect(FilesystemForecast.hoursToFull(points) == nil)
        #expect(FilesystemForecast.reading(points) == nil)
        #expect(FilesystemForecast.reading([]) == nil)
    }

    @Test("NaN and infinite inputs: no forecast, no crash")
    func nonFinite() {
        #expect(FilesystemForecast.hoursToFull(Self.minutes(Array(repeating: .nan, count: 60))) == nil)
        #expect(FilesystemForecast.reading(Self.minutes(Array(repeating: .nan, count: 60))) == nil)
        // Infinite points are skipped, leaving too few.
        let mostlyInfinite = Self.minutes([.infinity, -.infinity, .infinity, 5, 4, 3, .nan])
        #expect(FilesystemForecast.hoursToFull(mostlyInfinite) == nil)
        #expect(FilesystemForecast.reading(mostlyInfinite) == nil)
        // Values whose squares overflow: the fit is not finite, so nothing is forecast.
        let huge = Self.minutes((0..<60).map { Double.greatestFiniteMagnitude / Double($0 + 1) })
        #expect(FilesystemForecast.hoursToFull(huge) == nil)
        // A negative "available" reading is not a file system.
        let negative = Self.minutes((0..<60).map { -Double($0) * Self.gib })
        #expect(FilesystemForecast.hoursToFull(negative) == nil)
    }

    @Test("already at 0 and still falling before: full now (0 h)")
    func alreadyFull() throws {
        let points = Self.minutes((0..<60).map { Double(59 - $0) * Self.gib })
        #expect(try #require(FilesystemForecast.hoursToFull(points)) == 0)
    }
}
