import MonCore

/// The outcome of one evaluation of every key signal.
public struct AnomalyReport: Sendable {
    public var evaluatedMs: Int64
    /// Start of the hour of day the baselines are taken at (today's), and the hours read.
    public var hourStartMs: Int64
    public var baselineHoursMs: [Int64]
    public var findings: [AnomalyFinding]
    /// Signals that could not be evaluated (the database away), with why.
    public var failures: [AnomalySignal: String]

    public init(
        evaluatedMs: Int64, hourStartMs: Int64, baselineHoursMs: [Int64], findings: [AnomalyFinding],
        failures: [AnomalySignal: String]
    ) {
        self.evaluatedMs = evaluatedMs
        self.hourStartMs = hourStartMs
        self.baselineHoursMs = baselineHoursMs
        self.findings = findings
        self.failures = failures
    }

    /// "same hour over the last 7 days".
    public static func basis(days: Int) -> String {
        days == 1 ? "same hour yesterday" : "same hour over the last \(days) days"
    }

    /// Flagged findings, farthest from their baseline first.
    public var anomalies: [AnomalyFinding] {
        findings.filter(\.isAnomalous).sorted {
            abs($0.verdict?.deviationSigmas ?? 0) > abs($1.verdict?.deviationSigmas ?? 0)
        }
    }

    /// Flagged trends, steepest relative change first.
    public var trends: [AnomalyFinding] {
        findings.filter(\.isTrending).sorted {
            abs($0.trend?.fit.changePercent ?? 0) > abs($1.trend?.fit.changePercent ?? 0)
        }
    }
}
