/// A value against earlier ones: the change in percent and the trend flag that
/// `/api/monitoring/compare` answers and the report's regressions use.
public enum Comparison {
    /// `(current - before) / |before|` in percent; nil when either is missing or `before` is 0.
    public static func changePercent(_ current: Double?, from before: Double?) -> Double? {
        guard let current, let before, before != 0 else { return nil }
        return (current - before) / abs(before) * 100
    }

    /// `up` when the value is above every reference and at least 10 % above one; `down`
    /// symmetrically; `stable` otherwise (or `unknown` without references).
    public static func trend(_ changes: [Double?]) -> String {
        let known = changes.compactMap { $0 }
        guard !known.isEmpty else { return "unknown" }
        if known.allSatisfy({ $0 > 0 }), known.contains(where: { $0 >= 10 }) { return "up" }
        if known.allSatisfy({ $0 < 0 }), known.contains(where: { $0 <= -10 }) { return "down" }
        return "stable"
    }
}
