import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

/// Seeded value distributions for the accuracy tests.
enum ValueDistribution: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case uniform
    case logNormal
    case bimodal

    var testDescription: String { rawValue }

    /// `count` values, reproducible from `seed`.
    func values(count: Int, seed: UInt64) -> [Double] {
        var random = SeededGenerator(state: seed)
        return (0..<count).map { _ in
            switch self {
            case .uniform:
                return Double.random(in: 0.001...10, using: &random)
            case .logNormal:
                return Self.logNormal(mu: log(0.050), sigma: 0.8, using: &random)
            case .bimodal:
                // 70 % fast cache hits around 2 ms, 30 % slow queries around 400 ms.
                return Double.random(in: 0..<1, using: &random) < 0.7
                    ? Self.logNormal(mu: log(0.002), sigma: 0.3, using: &random)
                    : Self.logNormal(mu: log(0.400), sigma: 0.5, using: &random)
            }
        }
    }

    /// Box–Muller: one normal deviate from two uniform ones, then `exp(mu + sigma·z)`.
    static func logNormal(mu: Double, sigma: Double, using random: inout SeededGenerator) -> Double {
        let u1 = Double.random(in: Double.leastNormalMagnitude...1, using: &random)
        let u2 = Double.random(in: 0..<1, using: &random)
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return exp(mu + sigma * z)
    }
}

@Suite struct HistogramTests {
    static let quantiles = [0.5, 0.95, 0.99]

    /// The exact quantile with the histogram's rank rule: `sorted[floor(q × (n − 1))]`.
    static func exact(_ sorted: [Double], _ q: Double) -> Double {
        sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    static func histogram(of values: [Double]) -> Histogram {
        var histogram = Histogram()
        for value in values { histogram.record(value) }
        return histogram
    }

    // MARK: Accuracy

    @Test(arguments: ValueDistribution.allCases)
    func quantilesAreWithinTwoPercentOfTheExactOnes(_ distribution: ValueDistribution) throws {
        let values = distribution.values(count: 20_000, seed: 0xC0FF_EE00 &+ UInt64(distribution.rawValue.count))
        let sorted = values.sorted()
        let histogram = Self.histogram(of: values)
        #expect(histogram.count == 20_000)
        #expect(histogram.min == sorted.first)
        #expect(histogram.max == sorted.last)
        #expect(abs(histogram.sum - values.reduce(0, +)) <= 1e-9 * values.reduce(0, +))
        for q in Self.quantiles + [0, 0.25, 0.75, 0.999, 1] {
            let exact = Self.exact(sorted, q)
            let estimate = try #require(histogram.quantile(q))
            let relativeError = abs(estimate - exact) / exact
            #expect(relativeError <= 0.02, "\(distribution) q=\(q): exact \(exact), histogram \(estimate)")
        }
    }

    @Test func bimodalMedianAndTailLandInTheirOwnModes() throws {
        let values = ValueDistribution.bimodal.values(count: 10_000, seed: 7)
        let histogram = Self.histogram(of: values)
        // An interpolating or averaging estimator would put P95 between the modes.
        #expect(try #require(histogram.quantile(0.5)) < 0.01)
        #expect(try #require(histogram.quantile(0.95)) > 0.1)
    }

    @Test func aSingleValueIsReturnedExactlyForEveryQuantile() {
        var histogram = Histogram()
        histogram.record(0.123_456)
        for q in [0, 0.5, 0.99, 1] { #expect(histogram.quantile(q) == 0.123_456) }
    }

    @Test func quantilesStayWithinMinAndMax() throws {
        var histogram = Histogram()
        for value in [1.0, 1.001, 1.002, 1.003] { histogram.record(value) }
        #expect(try #require(histogram.quantile(0)) >= 1.0)
        #expect(try #require(histogram.quantile(1)) <= 1.003)
    }

    @Test func quantileArgumentIsClampedAndNaNRefused() {
        var histogram = Histogram()
        for value in [1.0, 2, 3, 4, 100] { histogram.record(value) }
        #expect(histogram.quantile(-3) == histogram.quantile(0))
        #expect(histogram.quantile(7) == histogram.quantile(1))
        #expect(histogram.quantile(1) == 100)
        #expect(histogram.quantile(.nan) == nil)
        #expect(histogram.quantile(.infinity) == nil)
    }

    @Test func rankRuleIsFloorOfQTimesCountMinusOne() throws {
        // Ranks 0..3 of four well-separated values: q = 0.66 → floor(1.98) = 1 → the second value.
        var histogram = Histogram()
        for value in [10.0, 20, 40, 80] { histogram.record(value) }
        let second = try #require(histogram.quantile(0.66))
        #expect(abs(second - 20) / 20 <= 0.01)
        let third = try #require(histogram.quantile(0.67))
        #expect(abs(third - 40) / 40 <= 0.01)
    }

    // MARK: Merging

    @Test func mergingHundredWindowsEqualsOneHistogramOfEverything() throws {
        let values = ValueDistribution.logNormal.values(count: 20_000, seed: 99)
        let whole = Self.histogram(of: values)
        var merged = Histogram()
        for window in 0..<100 {
            merged.merge(Self.histogram(of: Array(values[(window * 200)..<((window + 1) * 200)])))
        }
        #expect(merged.count == whole.count)
        #expect(merged.buckets == whole.buckets)
        #expect(merged.zeroCount == whole.zeroCount)
        #expect(merged.min == whole.min)
        #expect(merged.max == whole.max)
        #expect(abs(merged.sum - whole.sum) <= 1e-9 * whole.sum)
        let sorted = values.sorted()
        for q in Self.quantiles {
            let fromMerge = try #require(merged.quantile(q))
            #expect(fromMerge == whole.quantile(q), "q=\(q)")
            #expect(abs(fromMerge - Self.exact(sorted, q)) / Self.exact(sorted, q) <= 0.02, "q=\(q)")
        }
    }

    @Test func mergingAnEmptyHistogramChangesNothing() {
        var histogram = Histogram()
        histogram.record(3)
        let before = histogram
        histogram.merge(Histogram())
        #expect(histogram == before)

        var empty = Histogram()
        empty.merge(before)
        #expect(empty == before)
    }

    // MARK: Recording

    @Test func emptyHistogramHasNoQuantiles() {
        let histogram = Histogram()
        #expect(histogram.isEmpty)
        #expect(histogram.count == 0)
        for q in [0, 0.5, 1] { #expect(histogram.quantile(q) == nil) }
        #expect(histogram.sortedBuckets.isEmpty)
    }

    @Test func zeroTinyAndNegativeValuesAreCountedAsZero() throws {
        var histogram = Histogram()
        for value in [0, -5, 1e-12, Histogram.minimumPositive, 2] { histogram.record(value) }
        #expect(histogram.zeroCount == 4)
        #expect(histogram.count == 5)
        #expect(histogram.buckets.values.reduce(0, +) == 1)
        #expect(histogram.min == -5)
        #expect(histogram.max == 2)
        #expect(histogram.quantile(0) == 0)
        #expect(histogram.quantile(0.75) == 0)
        #expect(abs(try #require(histogram.quantile(1)) - 2) <= 0.02)
    }

    @Test func allNegativeValuesReportAtMostTheirMaximum() {
        var histogram = Histogram()
        for value in [-3.0, -2, -1] { histogram.record(value) }
        #expect(histogram.zeroCount == 3)
        #expect(histogram.quantile(0.5) == -1)
    }

    @Test func nonFiniteValuesAndZeroTimesAreIgnored() {
        var histogram = Histogram()
        histogram.record(.nan)
        histogram.record(.infinity)
        histogram.record(-.infinity)
        histogram.record(5, times: 0)
        #expect(histogram.isEmpty)
        #expect(histogram == Histogram())
    }

    @Test func recordTimesWeighsTheValue() throws {
        var histogram = Histogram()
        histogram.record(0.5, times: 10)
        histogram.record(100)
        #expect(histogram.count == 11)
        #expect(histogram.sum == 105)
        #expect(abs(try #require(histogram.quantile(0.9)) - 0.5) <= 0.005)
        #expect(histogram.quantile(1) == 100)
    }

    @Test func sortedBucketsAreAscendingAndAddUp() {
        var histogram = Histogram()
        for value in [1000.0, 0.001, 1, 1, 50, 0] { histogram.record(value) }
        let buckets = histogram.sortedBuckets
        #expect(buckets.map(\.index) == buckets.map(\.index).sorted())
        #expect(Set(buckets.map(\.index)).count == buckets.count)
        #expect(buckets.map(\.count).reduce(0, +) + histogram.zeroCount == histogram.count)
        #expect(buckets.first { $0.index == Histogram.index(of: 1) }?.count == 2)
    }

    @Test func bucketValueIsWithinOnePercentOfWhatItHolds() {
        var random = SeededGenerator(state: 5)
        for _ in 0..<10_000 {
            let value = exp(Double.random(in: log(1e-8)...log(1e12), using: &random))
            let index = Histogram.index(of: value)
            let reported = Histogram.value(ofIndex: index)
            #expect(abs(reported - value) / value <= Histogram.relativeAccuracy * 1.000_001, "\(value)")
            #expect(value <= Histogram.upperBound(ofIndex: index) * (1 + 1e-12))
        }
    }

    @Test func extremeValuesAreClampedIntoTheIndexRange() {
        var histogram = Histogram()
        histogram.record(1e300)
        histogram.record(1.1e-9)
        #expect(histogram.buckets.keys.allSatisfy { Histogram.indexRange.contains($0) })
        // Values above ~1e18 share the last bucket (documented range); below it stays accurate.
        #expect(histogram.buckets[Histogram.indexRange.upperBound] == 1)
        #expect(abs((histogram.quantile(0) ?? 0) - 1.1e-9) / 1.1e-9 <= 0.01)
        #expect(
            Histogram(
                buckets: histogram.buckets, zeroCount: 0, sum: histogram.sum, min: histogram.min, max: histogram.max)
                == histogram)
    }

    // MARK: Rebuilding (wire, database)

    @Test func rebuildingFromPartsGivesTheSameHistogram() throws {
        let original = Self.histogram(of: ValueDistribution.uniform.values(count: 500, seed: 1) + [0, -1])
        let rebuilt = try #require(
            Histogram(
                buckets: Dictionary(uniqueKeysWithValues: original.sortedBuckets.map { ($0.index, $0.count) }),
                zeroCount: original.zeroCount, sum: original.sum, min: original.min, max: original.max))
        #expect(rebuilt == original)
        #expect(rebuilt.quantile(0.95) == original.quantile(0.95))
    }

    @Test func rebuildingDropsEmptyBucketsAndAcceptsAnEmptyHistogram() throws {
        let rebuilt = try #require(Histogram(buckets: [3: 0, 4: 2], zeroCount: 0, sum: 2, min: 1, max: 1))
        #expect(rebuilt.buckets == [4: 2])
        #expect(rebuilt.count == 2)
        let empty = try #require(Histogram(buckets: [:], zeroCount: 0, sum: 0, min: .infinity, max: -.infinity))
        #expect(empty == Histogram())
        #expect(empty.quantile(0.5) == nil)
    }

    struct BadParts: Sendable, CustomTestStringConvertible {
        var name: String
        var buckets: [Int32: UInt64]
        var zeroCount: UInt64 = 0
        var sum = 1.0
        var min = 1.0
        var max = 2.0
        var testDescription: String { name }
    }

    @Test(arguments: [
        BadParts(name: "index above range", buckets: [Histogram.indexRange.upperBound + 1: 1]),
        BadParts(name: "index below range", buckets: [Histogram.indexRange.lowerBound - 1: 1]),
        BadParts(name: "index Int32.max", buckets: [.max: 1]),
        BadParts(name: "bucket counts overflow", buckets: [1: .max, 2: 1]),
        BadParts(name: "zero count plus bucket overflow", buckets: [1: 1], zeroCount: .max),
        BadParts(name: "NaN sum", buckets: [1: 1], sum: .nan),
        BadParts(name: "infinite sum", buckets: [1: 1], sum: .infinity),
        BadParts(name: "min above max", buckets: [1: 1], min: 3, max: 2),
        BadParts(name: "NaN min", buckets: [1: 1], min: .nan),
        BadParts(name: "infinite max", buckets: [1: 1], max: .infinity),
        BadParts(name: "only zeros, min above max", buckets: [:], zeroCount: 2, min: 0, max: -1),
    ])
    func rebuildingRefusesInconsistentParts(_ parts: BadParts) {
        #expect(
            Histogram(
                buckets: parts.buckets, zeroCount: parts.zeroCount, sum: parts.sum, min: parts.min, max: parts.max)
                == nil)
    }

    /// Found by the StatsD fuzz target (fuzz/crashes/statsd/histogram-sum-overflow): a
    /// sampled `x:1e308|h|@0.5` made the sum infinite, and the daemon refused every batch
    /// behind it.
    @Test func anObservationThatWouldOverflowTheSumIsRefused() {
        var histogram = Histogram()
        let accepted = [
            histogram.record(1e308), histogram.record(1e308, times: 2), histogram.record(.infinity),
            histogram.record(.nan),
        ]
        #expect(accepted == [true, false, false, false])
        #expect(histogram.count == 1)
        #expect(histogram.sum.isFinite)
    }

    @Test("cumulative counts by index thresholds equal summing the sorted buckets by their upper bounds")
    func cumulativeCountsMatchSortedBuckets() {
        let boundaries = PrometheusText.defaultBoundaries
        let thresholds = Histogram.indexThresholds(boundaries)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<50 {
            var histogram = Histogram()
            // Exact boundaries, values next to them, and a spread from 1 µs to 1000 s.
            for boundary in boundaries where round % 2 == 0 {
                histogram.record(boundary)
                histogram.record(boundary.nextUp)
                histogram.record(boundary.nextDown)
            }
            for _ in 0..<200 { histogram.record(pow(10, Double.random(in: -6...3, using: &generator))) }
            histogram.record(0)
            var expected: [UInt64] = []
            var running = histogram.zeroCount
            var index = 0
            let sorted = histogram.sortedBuckets
            for boundary in boundaries {
                while index < sorted.count, Histogram.upperBound(ofIndex: sorted[index].index) <= boundary {
                    running += sorted[index].count
                    index += 1
                }
                expected.append(running)
            }
            #expect(histogram.cumulativeCounts(thresholds: thresholds) == expected)
        }
        #expect(thresholds == thresholds.sorted())
    }
}
