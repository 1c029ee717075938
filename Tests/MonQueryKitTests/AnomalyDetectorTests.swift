import MonCore
import MonQueryKit
import Testing

/// The seasonal-baseline detector: mean and σ, the MAD fallback, the minimum number of
/// points, and the one-liner in the product brief's shape.
@Suite struct AnomalyDetectorTests {
    static func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    /// Mean 100, σ = √(250/6) ≈ 6.455 (sample standard deviation, n − 1).
    static let week: [Double] = [100, 110, 90, 105, 95, 100, 100]

    @Test("mean and sample σ of seven points; 150 is √60 σ above: flagged, +50 %")
    func spikeIsFlagged() throws {
        let verdict = AnomalyDetector().evaluate(current: 150, baseline: Self.week, minimumScale: 1)
        let baseline = try #require(verdict.baseline)
        #expect(baseline.method == .meanStddev)
        #expect(baseline.points == 7)
        #expect(baseline.expected == 100)
        #expect(Self.close(baseline.scale, (250.0 / 6).squareRoot()))
        #expect(Self.close(verdict.deviationSigmas, 60.0.squareRoot()))
        #expect(verdict.deviationPercent == 50)
        #expect(verdict.direction == .above)
        #expect(verdict.flagged)
        #expect(!verdict.insufficientBaseline)
    }

    @Test(
        "the 3 σ threshold is strict, in both directions",
        arguments: [
            (115.0, 5.4.squareRoot(), false), (120, 9.6.squareRoot(), true), (80, -(9.6.squareRoot()), true),
            (100, 0, false),
        ])
    func threshold(current: Double, sigmas: Double, flagged: Bool) {
        let verdict = AnomalyDetector().evaluate(current: current, baseline: Self.week, minimumScale: 1)
        #expect(Self.close(verdict.deviationSigmas, sigmas))
        #expect(verdict.flagged == flagged)
        #expect(verdict.direction == (current > 100 ? .above : current < 100 ? .below : nil))
    }

    @Test("the seed's example: a flat 120 ms week, 450 ms now → expected 120, +275 %, median and MAD")
    func flatBaselineUsesTheMedianAndTheFloor() throws {
        let verdict = AnomalyDetector().evaluate(
            current: 450, baseline: Array(repeating: 120, count: 7), minimumScale: 1)
        let baseline = try #require(verdict.baseline)
        #expect(baseline.method == .medianMAD)
        #expect(baseline.expected == 120)
        // MAD is 0: the spread is the signal's resolution, never 0.
        #expect(baseline.scale == 1)
        #expect(verdict.deviationSigmas == 330)
        #expect(verdict.deviationPercent == 275)
        #expect(verdict.flagged)
    }

    @Test("σ below the resolution: median and 1.4826 · MAD take over")
    func madFallback() throws {
        // Mean 1, σ = √(4/6) ≈ 0.816 ≤ 1 (the resolution); median 1, MAD 1.
        let points: [Double] = [0, 0, 1, 1, 1, 2, 2]
        let detector = AnomalyDetector()
        let high = detector.evaluate(current: 6, baseline: points, minimumScale: 1)
        let baseline = try #require(high.baseline)
        #expect(baseline.method == .medianMAD)
        #expect(baseline.expected == 1)
        #expect(baseline.scale == 1.4826)
        #expect(Self.close(high.deviationSigmas, 5 / 1.4826))
        #expect(high.flagged)
        #expect(!detector.evaluate(current: 5, baseline: points, minimumScale: 1).flagged)
        // With a finer resolution the same points use mean and σ.
        #expect(detector.evaluate(current: 5, baseline: points, minimumScale: 0.1).baseline?.method == .meanStddev)
    }

    @Test("a median between two middle points, and an even count")
    func median() {
        #expect(SeasonalBaseline.median([3, 1, 2]) == 2)
        #expect(SeasonalBaseline.median([4, 1, 3, 2]) == 2.5)
        #expect(SeasonalBaseline.median([]) == 0)
    }

    @Test("too few points: judged never, however far the value")
    func tooFewPoints() {
        let verdict = AnomalyDetector(sigmas: 3, minimumPoints: 5).evaluate(
            current: 1e6, baseline: [1, 2, 3, 4], minimumScale: 1)
        #expect(verdict.insufficientBaseline)
        #expect(!verdict.flagged)
        #expect(verdict.baseline?.points == 4)
        #expect(
            AnomalyDetector(minimumPoints: 4).evaluate(current: 1e6, baseline: [1, 2, 3, 4], minimumScale: 1).flagged)
    }

    @Test("empty, non-finite, zero expected: no division by zero, no NaN")
    func degenerateInputs() {
        let detector = AnomalyDetector(minimumPoints: 1)
        let empty = detector.evaluate(current: 5, baseline: [], minimumScale: 1)
        #expect(empty.baseline == nil && !empty.flagged && empty.insufficientBaseline)
        let nan = detector.evaluate(current: .nan, baseline: Self.week, minimumScale: 1)
        #expect(nan.baseline == nil && !nan.flagged)
        let infinite = detector.evaluate(current: 100, baseline: [.infinity, .nan, 100], minimumScale: 1)
        #expect(infinite.baseline?.points == 1)
        // An error rate of 0 % every day and 1 % now: 10 resolutions (0.1) away, no percentage.
        let zero = detector.evaluate(current: 1, baseline: Array(repeating: 0, count: 7), minimumScale: 0.1)
        #expect(zero.baseline?.scale == 0.1)
        #expect(Self.close(zero.deviationSigmas, 10))
        #expect(zero.deviationPercent == nil)
        #expect(zero.flagged)
        // A resolution of 0 still never divides by zero.
        let noFloor = detector.evaluate(current: 3, baseline: [2, 2, 2], minimumScale: 0)
        #expect(noFloor.baseline.map { $0.scale > 0 } == true)
        #expect(noFloor.deviationSigmas?.isFinite == true)
    }

    @Test("the one-liner, and the baseline hours: the current hour on each previous day")
    func summaryAndHours() throws {
        let verdict = AnomalyDetector().evaluate(
            current: 450, baseline: Array(repeating: 120, count: 7), minimumScale: 1)
        let finding = AnomalyFinding(
            signal: .apiLatencyP95, host: nil, labels: ["method": "GET", "endpoint": "/v1/search"],
            verdict: verdict, trend: nil)
        #expect(finding.subject == "API P95 GET /v1/search")
        #expect(
            finding.summary(days: 7)
                == "API P95 GET /v1/search: 450 ms, expected 120 ms (same hour over the last 7 days, 7 points), +275 % (330 σ)"
        )
        #expect(AnomalySignal.apiLatencyP95.suggestion(.above).contains("slow queries"))
        #expect(AnomalySignal.apiErrorRate.suggestion(.above).contains("level error"))
        let cpu = AnomalyFinding(signal: .cpu, host: "web-1", labels: ["cpu": "all"], verdict: nil, trend: nil)
        #expect(cpu.subject == "CPU usage on web-1")
        #expect(cpu.summary(days: 7) == nil)

        // 2026-03-10 14:23:05 UTC → 14:00 on March 3 … 9.
        let now: Int64 = 1_773_152_585_000
        let (hour, hours) = AnomalyMonitor.baselineHours(nowMs: now, days: 7)
        #expect(Timestamp.iso8601(ms: hour) == "2026-03-10T14:00:00Z")
        #expect(hours.count == 7)
        #expect(Timestamp.iso8601(ms: hours[0]) == "2026-03-09T14:00:00Z")
        #expect(Timestamp.iso8601(ms: hours[6]) == "2026-03-03T14:00:00Z")
    }
}
