import MonCore
import MonQueryKit
import Testing

/// Least-squares trend flags: slope per hour, relative change over the window, r².
@Suite struct TrendFitTests {
    static func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    /// One point a minute from `start` ms.
    static func minutes(_ values: [Double], start: Int64 = 1_773_150_000_000) -> [(ms: Int64, value: Double)] {
        values.enumerated().map { (start + Int64($0.offset) * 60_000, $0.element) }
    }

    @Test("latency rising for 30 min: +1 ms a minute from 100 ms → +60 ms/h, +25.33 % over the window, r² 1")
    func latencyRising() throws {
        let points = Self.minutes((0..<30).map { 100 + Double($0) })
        let verdict = try #require(TrendDetector().evaluate(points))
        #expect(verdict.fit.points == 30)
        #expect(Self.close(verdict.fit.slopePerHour, 60))
        #expect(Self.close(verdict.fit.r2, 1))
        #expect(Self.close(verdict.fit.mean, 114.5))
        #expect(verdict.fit.spanSeconds == 29 * 60)
        // 60 ms/h × 29 min / 114.5 ms.
        #expect(Self.close(verdict.fit.changePercent, 29 / 114.5 * 100))
        #expect(verdict.direction == .rising)
        #expect(verdict.flagged)
        let finding = AnomalyFinding(
            signal: .apiLatencyP95, host: nil, labels: ["method": "GET", "endpoint": "/v1/search"], verdict: nil,
            trend: verdict)
        #expect(
            finding.trendSummary(windowSeconds: 1800)
                == "API P95 GET /v1/search rising for 30 min: +25.3 % (+60 ms/h, r² 1)")
    }

    @Test("hit rate falling for 1 h: −0.5 point a minute from 90 % → −30 points/h, −39.2 %")
    func hitRateFalling() throws {
        let points = Self.minutes((0..<60).map { 90 - Double($0) * 0.5 })
        let verdict = try #require(TrendDetector().evaluate(points))
        #expect(Self.close(verdict.fit.slopePerHour, -30))
        #expect(Self.close(verdict.fit.changePercent, -29.5 / 75.25 * 100))
        #expect(verdict.direction == .falling)
        #expect(verdict.flagged)
        let finding = AnomalyFinding(signal: .redisHitRate, host: "cache-1", labels: [:], verdict: nil, trend: verdict)
        #expect(
            finding.trendSummary(windowSeconds: 3600)
                == "Redis hit rate on cache-1 falling for 1 h: -39.2 % (-30 points/h, r² 1)")
    }

    @Test("a zigzag has a slope but no fit: r² = 1/33, not flagged")
    func noisyIsNotFlagged() throws {
        let points = Self.minutes((0..<10).map { $0 % 2 == 0 ? 100 : 120 })
        let verdict = try #require(TrendDetector(minimumChangePercent: 1).evaluate(points))
        // Sxy = 50, Sxx = 82.5 (minutes), Syy = 1000.
        #expect(Self.close(verdict.fit.r2, 2500 / 82_500))
        #expect(Self.close(verdict.fit.slopePerHour, 50 / 82.5 * 60))
        #expect(!verdict.flagged)
    }

    @Test("a small change is not a trend, however well it fits")
    func smallChange() throws {
        let points = Self.minutes((0..<30).map { 1000 + Double($0) })
        let verdict = try #require(TrendDetector().evaluate(points))
        #expect(Self.close(verdict.fit.r2, 1))
        #expect(verdict.fit.changePercent.map { $0 < 20 } == true)
        #expect(!verdict.flagged)
    }

    @Test("flat, too few points, one instant, mean 0: no flag and no NaN")
    func degenerate() throws {
        let flat = try #require(TrendDetector().evaluate(Self.minutes(Array(repeating: 5, count: 10))))
        #expect(flat.fit.slopePerHour == 0 && flat.fit.r2 == 0 && flat.direction == nil && !flat.flagged)
        let few = try #require(TrendDetector(minimumPoints: 5).evaluate(Self.minutes([1, 2, 3, 4])))
        #expect(few.fit.r2 == 1 && !few.flagged)
        #expect(TrendDetector().evaluate(Self.minutes([1])) == nil)
        #expect(TrendDetector().evaluate([(ms: 5, value: 1), (ms: 5, value: 2)]) == nil)
        #expect(TrendDetector().evaluate([]) == nil)
        let symmetric = try #require(TrendDetector().evaluate(Self.minutes([-2, -1, 0, 1, 2])))
        #expect(symmetric.fit.changePercent == nil && !symmetric.flagged)
        let withNaN = try #require(TrendDetector().evaluate(Self.minutes([1, .nan, 3, 4, 5, 6])))
        #expect(withNaN.fit.points == 5)
    }
}
