import Foundation

/// A mergeable histogram with bounded relative error (log-spaced buckets, as in DDSketch).
///
/// A positive value `v` falls in bucket `ceil(log(v) / log(γ))` with `γ = (1 + α) / (1 - α)`;
/// the bucket is reported as `2γⁱ / (γ + 1)`, which is within `α` of every value the bucket
/// holds. Merging adds bucket counts, so a percentile over 7 days of 5 s windows is as
/// accurate as one over a single window — never an average of percentiles. Values at or
/// below `minimumPositive` (zero, negatives) are counted in `zeroCount` and reported as 0.
public struct Histogram: Sendable, Hashable {
    /// Relative accuracy α of every quantile (1 %; the API promises ≤ 2 %).
    public static let relativeAccuracy = 0.01
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let logGamma = log(gamma)
    /// Smaller values count as zero (1 ns when the unit is seconds).
    public static let minimumPositive = 1e-9
    /// Bucket indexes are clamped to this range (covers 1e-9 … 1e+18).
    static let indexRange: ClosedRange<Int32> = -1100...2100
    /// Every count (per bucket, zero, total) saturates here, 2^50 ≈ 1.1e15 observations —
    /// far above any real window or rollup, and far below 2^53, so a count converted to a
    /// `Double` (JSON, rates, `/metrics`) is always exact and sums of a few thousand counts
    /// never overflow `UInt64` or PostgreSQL's `bigint`.
    public static let maxCount: UInt64 = 1 << 50

    /// Sparse bucket counts by index.
    public private(set) var buckets: [Int32: UInt64] = [:]
    public private(set) var zeroCount: UInt64 = 0
    public private(set) var count: UInt64 = 0
    public private(set) var sum: Double = 0
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = -.infinity

    public init() {}

    /// Rebuilds a histogram from its stored parts (wire, database): nil when an index is out of
    /// range, a bucket or zero count is above `maxCount` (no window or rollup can hold that
    /// many: an agent sending 2^62 is refused at decode), the sum is not finite or min/max do
    /// not fit. The count is the parts' sum, saturated at `maxCount`.
    public init?(
        buckets: [Int32: UInt64], zeroCount: UInt64, sum: Double, min: Double, max: Double
    ) {
        guard zeroCount <= Self.maxCount else { return nil }
        var total = zeroCount
        var kept: [Int32: UInt64] = [:]
        kept.reserveCapacity(buckets.count)
        for (index, count) in buckets {
            guard Self.indexRange.contains(index), count <= Self.maxCount else { return nil }
            guard count > 0 else { continue }
            kept[index] = count
            total = Self.addCounts(total, count)
        }
        guard sum.isFinite, total == 0 || (min.isFinite && max.isFinite && min <= max) else { return nil }
        self.buckets = kept
        self.zeroCount = zeroCount
        self.count = total
        self.sum = sum
        self.min = total == 0 ? .infinity : min
        self.max = total == 0 ? -.infinity : max
    }

    public var isEmpty: Bool { count == 0 }

    /// The bucket index of a positive value (clamped to `indexRange`; NaN and values ≤ 0 give
    /// the lowest index, never a trap).
    public static func index(of value: Double) -> Int32 {
        let raw = (log(value) / logGamma).rounded(.up)
        guard !raw.isNaN else { return indexRange.lowerBound }
        return Int32(Swift.min(Swift.max(raw, Double(indexRange.lowerBound)), Double(indexRange.upperBound)))
    }

    /// The value a bucket stands for.
    public static func value(ofIndex index: Int32) -> Double {
        2 * pow(gamma, Double(index)) / (gamma + 1)
    }

    /// Upper bound of a bucket (for cumulative `le` buckets).
    public static func upperBound(ofIndex index: Int32) -> Double {
        pow(gamma, Double(index))
    }

    /// `a + b`, saturated at `maxCount`.
    public static func addCounts(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? maxCount : Swift.min(total, maxCount)
    }

    /// Records `value` `times` times (counts saturate at `maxCount`). Refused (false) when it
    /// is not finite or would make the sum overflow to infinity: a histogram with an infinite
    /// sum cannot be shipped (the daemon refuses it), so one absurd observation must not
    /// poison a whole batch; the caller counts it.
    @discardableResult
    public mutating func record(_ value: Double, times: UInt64 = 1) -> Bool {
        let times = Swift.min(times, Self.maxCount)
        guard value.isFinite, times > 0, (sum + value * Double(times)).isFinite else { return false }
        if value <= Self.minimumPositive {
            zeroCount = Self.addCounts(zeroCount, times)
        } else {
            let index = Self.index(of: value)
            buckets[index] = Self.addCounts(buckets[index] ?? 0, times)
        }
        count = Self.addCounts(count, times)
        sum += value * Double(times)
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        return true
    }

    /// Adds every observation of `other`: counts saturate at `maxCount`, the sum at the
    /// largest finite `Double` (two huge sums never make an infinite one).
    public mutating func merge(_ other: Histogram) {
        guard !other.isEmpty else { return }
        for (index, value) in other.buckets { buckets[index] = Self.addCounts(buckets[index] ?? 0, value) }
        zeroCount = Self.addCounts(zeroCount, other.zeroCount)
        count = Self.addCounts(count, other.count)
        sum = Swift.min(Swift.max(sum + other.sum, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The `q` quantile (0...1): the value of rank `floor(q × (count − 1))` in sorted order,
    /// within `relativeAccuracy` of the exact one; nil when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, q.isFinite else { return nil }
        let clamped = Swift.min(Swift.max(q, 0), 1)
        // count ≤ maxCount < 2^53: exact as a Double, and the product stays below it.
        let rank = UInt64((clamped * Double(count - 1)).rounded(.down))
        if rank < zeroCount { return Swift.max(Swift.min(0, max), min) }
        var seen = zeroCount
        for index in buckets.keys.sorted() {
            seen += buckets[index] ?? 0
            if seen > rank {
                return Swift.min(Swift.max(Self.value(ofIndex: index), min), max)
            }
        }
        return max
    }

    /// Buckets sorted by index (stable order for the wire and the database).
    /// For each boundary (ascending), the largest bucket index whose upper bound is ≤ it:
    /// bucket `i` counts towards boundary `b` exactly when `upperBound(ofIndex: i) <= b`.
    public static func indexThresholds(_ boundaries: [Double]) -> [Int32] {
        boundaries.map { boundary in
            let raw = (log(boundary) / logGamma).rounded(.down)
            let guess =
                boundary > 0 && raw.isFinite
                ? Int32(Swift.min(Swift.max(raw, Double(indexRange.lowerBound)), Double(indexRange.upperBound)))
                : boundary > 0 ? indexRange.upperBound : indexRange.lowerBound
            var index = Swift.max(Swift.min(guess, indexRange.upperBound), indexRange.lowerBound)
            // The guess is within one or two of the answer; settle it with the same pow as upperBound.
            while index < indexRange.upperBound, upperBound(ofIndex: index + 1) <= boundary { index += 1 }
            while index > indexRange.lowerBound, upperBound(ofIndex: index) > boundary { index -= 1 }
            return index
        }
    }

    /// Cumulative counts at each boundary of `thresholds` (from `indexThresholds`), zero count
    /// included: the `_bucket` values of an exposition, without sorting the buckets.
    public func cumulativeCounts(thresholds: [Int32]) -> [UInt64] {
        var perSlot = [UInt64](repeating: 0, count: thresholds.count)
        for (index, count) in buckets {
            // First boundary this bucket counts towards; buckets above the last one only in +Inf.
            var slot = 0
            while slot < thresholds.count, index > thresholds[slot] { slot += 1 }
            if slot < thresholds.count { perSlot[slot] &+= count }
        }
        var running = zeroCount
        for slot in perSlot.indices {
            running &+= perSlot[slot]
            perSlot[slot] = running
        }
        return perSlot
    }

    public var sortedBuckets: [(index: Int32, count: UInt64)] {
        buckets.sorted { $0.key < $1.key }.map { (index: $0.key, count: $0.value) }
    }
}

/// One histogram window of one series (e.g. request durations of one endpoint in 5 s).
public struct HistogramSample: Sendable, Hashable {
    /// Metric name, e.g. `mon_app_request_duration_seconds`.
    public var name: String
    public var labels: Labels
    /// Window end, ms since the epoch.
    public var timestampMs: Int64
    public var histogram: Histogram

    public init(_ name: String, _ labels: Labels, timestampMs: Int64, histogram: Histogram) {
        self.name = name
        self.labels = labels
        self.timestampMs = timestampMs
        self.histogram = histogram
    }
}
