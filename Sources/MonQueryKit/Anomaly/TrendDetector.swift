import MonCore

/// Flags a steady rise or fall: a fit over at least `minimumPoints` points whose implied
/// change is at least `minimumChangePercent` of the mean and whose r² is at least `minimumR2`.
public struct TrendDetector: Sendable, Equatable {
    public var minimumChangePercent: Double
    public var minimumR2: Double
    public var minimumPoints: Int

    public init(minimumChangePercent: Double = 20, minimumR2: Double = 0.5, minimumPoints: Int = 5) {
        self.minimumChangePercent = minimumChangePercent
        self.minimumR2 = minimumR2
        self.minimumPoints = minimumPoints
    }

    public enum Direction: String, Sendable {
        case rising, falling
    }

    public struct Verdict: Sendable, Equatable {
        public var fit: TrendFit
        public var direction: Direction?
        public var flagged: Bool
    }

    /// Nil when no line can be fitted.
    public func evaluate(_ samples: [(ms: Int64, value: Double)]) -> Verdict? {
        guard let fit = TrendFit(samples) else { return nil }
        let direction: Direction? = fit.slopePerHour > 0 ? .rising : fit.slopePerHour < 0 ? .falling : nil
        let flagged =
            fit.points >= minimumPoints && fit.r2 >= minimumR2
            && (fit.changePercent.map { abs($0) >= minimumChangePercent } ?? false)
        return Verdict(fit: fit, direction: direction, flagged: flagged)
    }
}
