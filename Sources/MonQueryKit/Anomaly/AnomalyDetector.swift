import MonCore

/// Flags a current value more than `sigmas` baseline spreads from what is expected at
/// this time of day, once the baseline has at least `minimumPoints` points.
public struct AnomalyDetector: Sendable, Equatable {
    /// How many spreads away counts as anomalous (default 3).
    public var sigmas: Double
    /// Fewer baseline points than this: never flagged (default 5).
    public var minimumPoints: Int

    public init(sigmas: Double = 3, minimumPoints: Int = 5) {
        self.sigmas = sigmas
        self.minimumPoints = minimumPoints
    }

    public enum Direction: String, Sendable {
        case above, below
    }

    public struct Verdict: Sendable, Equatable {
        public var current: Double
        /// Nil without any finite baseline point.
        public var baseline: SeasonalBaseline?
        /// (current − expected) / scale; nil without a baseline.
        public var deviationSigmas: Double?
        /// (current − expected) / |expected| · 100, signed; nil without a baseline or when
        /// 0 is expected.
        public var deviationPercent: Double?
        public var direction: Direction?
        /// The baseline has fewer than `minimumPoints` points: not judged.
        public var insufficientBaseline: Bool
        public var flagged: Bool
    }

    public func evaluate(current: Double, baseline points: [Double], minimumScale: Double) -> Verdict {
        let baseline = current.isFinite ? SeasonalBaseline(points: points, minimumScale: minimumScale) : nil
        guard let baseline else {
            return Verdict(
                current: current, baseline: nil, deviationSigmas: nil, deviationPercent: nil, direction: nil,
                insufficientBaseline: true, flagged: false)
        }
        let delta = current - baseline.expected
        let sigmasAway = delta / baseline.scale
        let insufficient = baseline.points < max(1, minimumPoints)
        return Verdict(
            current: current, baseline: baseline, deviationSigmas: sigmasAway,
            deviationPercent: baseline.expected == 0 ? nil : delta / abs(baseline.expected) * 100,
            direction: delta > 0 ? .above : delta < 0 ? .below : nil,
            insufficientBaseline: insufficient, flagged: !insufficient && abs(sigmasAway) > sigmas)
    }
}
