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

    /// Sparse bucket counts by index.
    public private(set) var buckets: [Int32: UInt64] = [:]
    public private(set) var zeroCount: UInt64 = 0
    public private(set) var count: UInt64 = 0
    public private(set) var sum: Double = 0
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = -.infinity

    public init() {}

    /// Rebuilds a histogram from its stored parts (wire, database); counts must add up.
    public init?(
        buckets: [Int32: UInt64], zeroCount: UInt64, sum: Double, min: Double, max: Double
    ) {
        var total = zeroCount
        for (index, value) in buckets {
            guard Self.indexRange.contains(index) else { return nil }
            let (added, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { return nil }
            total = added
        }
        guard sum.isFinite, total == 0 || (min.isFinite && max.isFinite && min <= max) else { return nil }
        self.buckets = buckets.filter { $0.value > 0 }
        self.zeroCount = zeroCount
        self.count = total
        self.sum = sum
        self.min = total == 0 ? .infinity : min
        self.max = total == 0 ? -.infinity : max
    }

    public var isEmpty: Bool { count == 0 }

    /// The bucket index of a positive value.
    public static func index(of value: Double) -> Int32 {
        let raw = (log(value) / logGamma).rounded(.up)
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

    /// Records `value` `times` times; non-finite values are ignored (the caller counts them).
    /// Records `value` `times` times. Refused (false) when it is not finite or would make
    /// the sum overflow to infinity: a histogram with an infinite sum cannot be shipped
    /// (the daemon refuses it), so one absurd observation must not poison a whole batch.
    @discardableResult
    public mutating func record(_ value: Double, times: UInt64 = 1) -> Bool {
        guard value.isFinite, times > 0, (sum + value * Double(times)).isFinite else { return false }
        if value <= Self.minimumPositive {
            zeroCount &+= times
        } else {
            buckets[Self.index(of: value), default: 0] &+= times
        }
        count &+= times
        sum += value * Double(times)
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        return true
    }

    /// Adds every observation of `other`.
    public mutating func merge(_ other: Histogram) {
        guard !other.isEmpty else { return }
        for (index, value) in other.buckets { buckets[index, default: 0] &+= value }
        zeroCount &+= other.zeroCount
        count &+= other.count
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The `q` quantile (0...1): the value of rank `floor(q × (count − 1))` in sorted order,
    /// within `relativeAccuracy` of the exact one; nil when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, q.isFinite else { return nil }
        let clamped = Swift.min(Swift.max(q, 0), 1)
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
            let guess =
                boundary > 0 ? Int32(clamping: Int((log(boundary) / logGamma).rounded(.down))) : indexRange.lowerBound
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
