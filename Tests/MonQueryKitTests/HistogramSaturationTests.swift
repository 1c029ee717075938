import Testing

@testable import MonCore
@testable import MonQueryKit

/// Histogram counts and sums never trap and never leave the range every consumer relies on:
/// counts ≤ `Histogram.maxCount` (well below 2^53, exact as a Double), sums finite (issue 18).
@Suite struct HistogramSaturationTests {
    static let max = Histogram.maxCount

    @Test func theCountCeilingIsFarBelowTwoToThe53() {
        #expect(Histogram.maxCount == 1 << 50)
        #expect(Double(Histogram.maxCount) * 4 < 0x1p53)
    }

    @Test func recordingSaturatesEveryCount() throws {
        var histogram = Histogram()
        let recorded = [
            histogram.record(0.5, times: .max), histogram.record(0.5, times: .max), histogram.record(0, times: .max),
        ]
        #expect(recorded == [true, true, true])
        #expect(histogram.count == Self.max)
        #expect(histogram.zeroCount == Self.max)
        #expect(histogram.buckets.values.allSatisfy { $0 == Self.max })
        #expect(histogram.sum.isFinite)
        // Quantiles still work at the ceiling (the rank is computed in Double).
        let median = try #require(histogram.quantile(0.5))
        #expect(median >= 0 && median <= 0.5)
        #expect(histogram.quantile(1) != nil)
    }

    @Test func mergingSaturatesCountsAndKeepsTheSumFinite() throws {
        var big = Histogram()
        big.record(1e308, times: 1)
        big.record(2, times: Self.max - 1)
        var total = big
        for _ in 0..<5 { total.merge(big) }
        #expect(total.count == Self.max)
        #expect(total.buckets[Histogram.index(of: 2)] == Self.max)
        #expect(total.sum == .greatestFiniteMagnitude, "6 × 1e308 saturates instead of reaching infinity")
        var negative = Histogram()
        negative.record(-1e308)
        var negatives = negative
        for _ in 0..<3 { negatives.merge(negative) }
        #expect(negatives.sum == -.greatestFiniteMagnitude)
        // What the merge made is still something the daemon accepts.
        let rebuilt = Histogram(
            buckets: total.buckets, zeroCount: total.zeroCount, sum: total.sum, min: total.min, max: total.max)
        #expect(rebuilt?.count == Self.max)
    }

    @Test func rebuildingRefusesAbsurdCountsAndSaturatesTheTotal() {
        #expect(Histogram(buckets: [1: Self.max + 1], zeroCount: 0, sum: 1, min: 1, max: 1) == nil)
        #expect(Histogram(buckets: [1: 1 << 62], zeroCount: 0, sum: 1, min: 1, max: 1) == nil)
        #expect(Histogram(buckets: [:], zeroCount: Self.max + 1, sum: 0, min: 0, max: 0) == nil)
        // Parts at the ceiling are fine (a rollup's saturated sums); their total saturates.
        let full = Histogram(buckets: [1: Self.max, 2: Self.max], zeroCount: Self.max, sum: 1, min: 0, max: 2)
        #expect(full?.count == Self.max)
        #expect(full?.quantile(0.99) != nil)
    }

    @Test func addCountsSaturates() {
        #expect(Histogram.addCounts(1, 2) == 3)
        #expect(Histogram.addCounts(Self.max, 1) == Self.max)
        #expect(Histogram.addCounts(.max, .max) == Self.max)
        var count: UInt64 = Self.max - 1
        count.addCount(5)
        #expect(count == Self.max)
    }

    @Test func integerTotalsSaturateInsteadOfTrapping() {
        #expect(Int64.max.saturatingAdding(1) == .max)
        #expect(Int64.min.saturatingAdding(-1) == .min)
        #expect(Int64(5).saturatingAdding(-7) == -2)
        var total: Int64 = .max - 1
        total.addSaturating(10)
        #expect(total == .max)
        let stats = EndpointStats(method: "GET", endpoint: "/x", byStatus: ["200": .max, "500": .max, "404": 3])
        #expect(stats.requests == .max)
        #expect(stats.serverErrors == .max)
        #expect(EndpointStats.totals([stats, stats]).requests == .max)
    }

    @Test func bucketIndexesOfNonFiniteInputsNeverTrap() {
        #expect(Histogram.index(of: .nan) == Histogram.indexRange.lowerBound)
        #expect(Histogram.index(of: -1) == Histogram.indexRange.lowerBound)
        #expect(Histogram.index(of: .infinity) == Histogram.indexRange.upperBound)
        let thresholds = Histogram.indexThresholds([.nan, -.infinity, 0, 1, .infinity, .greatestFiniteMagnitude])
        #expect(thresholds.count == 6)
        #expect(thresholds.allSatisfy { Histogram.indexRange.contains($0) })
        #expect(thresholds[4] == Histogram.indexRange.upperBound)
    }
}

/// Differences and sums of integers read from the wire or /proc never trap (issue 18).
@Suite struct SaturatingArithmeticTests {
    @Test func subtractionSaturates() {
        #expect(Int64(1_800_000_000_000).saturatingSubtracting(.min) == .max)
        #expect(Int64.min.saturatingSubtracting(1) == .min)
        #expect(Int64(5).saturatingSubtracting(7) == -2)
        #expect(UInt64(3).saturatingSubtracting(5) == 0)
    }

    @Test func memInfoWithAbsurdFieldsNeverTraps() {
        let info = MemInfo(
            totalBytes: 100, freeBytes: .max, availableBytes: nil, buffersBytes: .max, cachedBytes: 1,
            sReclaimableBytes: 1, swapTotalBytes: 0, swapFreeBytes: 0)
        #expect(info.effectiveAvailableBytes == 100)
        #expect(info.usedBytes == 0)
    }

    /// A batch's creation time comes from the wire: the lag and interval arithmetic on it
    /// saturates (Int64.min used to make `now - createdMs` trap).
    @Test func ingestStatsSurviveAbsurdCreationTimes() async {
        let stats = IngestStats()
        let agent = AgentIdentity(agentID: "a", host: "h", bootID: "b")
        await stats.agentConnected(agent)
        for (seq, createdMs) in [(1, Int64.min), (2, Int64.max), (3, Int64.min), (4, WallClock.nowMs())] {
            await stats.storeStarted()
            await stats.batchStored(
                agent, batch: Batch(seq: UInt64(seq), createdMs: createdMs, samples: []),
                outcome: .stored(samples: 0, rejected: 0),
                duration: .milliseconds(1))
        }
        #expect(await stats.batchesStored == 4)
        #expect(await stats.lastLagSeconds.isFinite)
    }
}
