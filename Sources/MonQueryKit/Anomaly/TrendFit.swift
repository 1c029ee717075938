import MonCore

/// A least-squares line through `(time, value)` points: slope, fit quality and the change
/// it implies over the points' span. Pure; no I/O.
public struct TrendFit: Sendable, Equatable {
    public var points: Int
    /// Slope of the fitted line, in the value's unit per hour.
    public var slopePerHour: Double
    /// Coefficient of determination of the fit, 0…1 (0 when the values do not vary).
    public var r2: Double
    /// Mean of the values (the fitted line passes through it at the mean time).
    public var mean: Double
    /// From the first to the last point's time, in seconds.
    public var spanSeconds: Double
    /// slope × span / |mean| · 100: the change the line implies over the window relative to
    /// the window's mean, signed; nil when the mean is 0.
    public var changePercent: Double?

    /// Nil with fewer than two finite points or when every point has the same time.
    public init?(_ samples: [(ms: Int64, value: Double)]) {
        let finite = samples.filter { $0.value.isFinite }
        guard finite.count >= 2, let first = finite.map(\.ms).min(), let last = finite.map(\.ms).max(), last > first
        else { return nil }
        // Hours since the first point: small numbers, no loss of precision.
        let xs = finite.map { Double($0.ms - first) / 3_600_000 }
        let ys = finite.map(\.value)
        let n = Double(finite.count)
        let meanX = xs.reduce(0, +) / n
        let meanY = ys.reduce(0, +) / n
        var sxx = 0.0
        var sxy = 0.0
        var syy = 0.0
        for (x, y) in zip(xs, ys) {
            sxx += (x - meanX) * (x - meanX)
            sxy += (x - meanX) * (y - meanY)
            syy += (y - meanY) * (y - meanY)
        }
        guard sxx > 0 else { return nil }
        points = finite.count
        slopePerHour = sxy / sxx
        r2 = syy > 0 ? min(1, sxy * sxy / (sxx * syy)) : 0
        mean = meanY
        spanSeconds = Double(last - first) / 1000
        changePercent = meanY == 0 ? nil : slopePerHour * spanSeconds / 3600 / abs(meanY) * 100
    }
}
