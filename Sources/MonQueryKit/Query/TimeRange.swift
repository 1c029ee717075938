import MonCore

/// The window and resolution of a chart: `period` back from now, in `step` buckets.
public struct TimeRange: Sendable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public var periodSeconds: Int64
    public var stepSeconds: Int64

    /// Most points a series may have; a smaller step is refused.
    public static let maximumPoints: Int64 = 2000
    /// Default steps. No 30 min: from 15 h to 30 h the default step is the hour, which the
    /// hour rollups serve (a 24-h chart then reads 24 rows per series instead of 1 440 minute
    /// rows, the difference between ~10 ms and ~200 ms per chart; `TierPlan`). An explicit
    /// `step=30m` still works, from the minute rollups.
    static let niceSteps: [Int64] = [5, 10, 15, 30, 60, 120, 300, 600, 900, 3600, 7200, 21600, 43200, 86400]

    /// From the `period` and `step` query parameters (period default `1h`, step chosen for ~60
    /// points, at most, from `niceSteps`).
    public init(period: String?, step: String?, nowMs: Int64) throws(ParameterError) {
        periodSeconds = try DurationText.seconds(period ?? "1h", parameter: "period")
        if let step {
            stepSeconds = try DurationText.seconds(step, parameter: "step")
            guard stepSeconds <= periodSeconds else {
                throw ParameterError("step", "'\(step)' is longer than the period")
            }
            guard periodSeconds / stepSeconds <= Self.maximumPoints else {
                throw ParameterError("step", "'\(step)' gives more than \(Self.maximumPoints) points for this period")
            }
        } else {
            let wanted = max(5, periodSeconds / 60)
            stepSeconds = min(periodSeconds, Self.niceSteps.first { $0 >= wanted } ?? 86_400)
        }
        endMs = nowMs
        startMs = nowMs - periodSeconds * 1000
    }
}
