import MonCore

/// What a signal usually is at this time of day: the center and spread of its baseline
/// points (the same hour of day over the last days, one point a day). Pure; no I/O.
///
/// The center is the mean and the spread the sample standard deviation (n − 1). When
/// that deviation is near zero — at most `minimumScale`, the signal's resolution (1 ms
/// of latency, 0.1 point of a percentage…) — the baseline falls back to the median and
/// 1.4826 · MAD (the median absolute deviation scaled to match σ for normal data). The
/// spread is never below `minimumScale` (nor below 1e-9 · max(1, |center|)), so dividing
/// by it is always defined.
public struct SeasonalBaseline: Sendable, Equatable {
    public enum Method: String, Sendable {
        /// Mean and sample standard deviation.
        case meanStddev = "mean_stddev"
        /// Median and 1.4826 · MAD (σ near zero).
        case medianMAD = "median_mad"
    }

    /// Finite baseline points used.
    public var points: Int
    /// The value expected now: the mean (or the median).
    public var expected: Double
    /// The spread one "σ" stands for; always > 0.
    public var scale: Double
    public var method: Method

    /// Consistency constant of the MAD for normally distributed data.
    public static let madScale = 1.4826

    /// Nil without a finite point.
    public init?(points values: [Double], minimumScale: Double) {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return nil }
        points = finite.count
        let mean = finite.reduce(0, +) / Double(finite.count)
        let floor = max(minimumScale.isFinite ? minimumScale : 0, 1e-9 * max(1, abs(mean)))
        let stddev: Double
        if finite.count > 1 {
            let squares = finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            stddev = (squares / Double(finite.count - 1)).squareRoot()
        } else {
            stddev = 0
        }
        if stddev > floor {
            expected = mean
            scale = stddev
            method = .meanStddev
        } else {
            let median = Self.median(finite)
            expected = median
            scale = max(Self.madScale * Self.median(finite.map { abs($0 - median) }), floor)
            method = .medianMAD
        }
    }

    /// The middle value (the mean of the two middle ones for an even count); 0 when empty.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
