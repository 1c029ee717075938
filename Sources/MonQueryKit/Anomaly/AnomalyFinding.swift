import MonCore

/// One series of a key signal as last evaluated: its current value against its seasonal
/// baseline, and its recent trend.
public struct AnomalyFinding: Sendable {
    public var signal: AnomalySignal
    /// Nil for the API signals (all hosts merged).
    public var host: String?
    /// `method`/`endpoint` for API P95; the series' labels for the others.
    public var labels: [String: String]
    /// Nil when there is no current value (no data, or too few requests in the window).
    public var verdict: AnomalyDetector.Verdict?
    /// Nil when no line could be fitted over the trend window.
    public var trend: TrendDetector.Verdict?

    public init(
        signal: AnomalySignal, host: String?, labels: [String: String], verdict: AnomalyDetector.Verdict?,
        trend: TrendDetector.Verdict?
    ) {
        self.signal = signal
        self.host = host
        self.labels = labels
        self.verdict = verdict
        self.trend = trend
    }

    /// "API P95 GET /v1/search", "CPU usage on web-1", "Redis hit rate {instance=a} on web-1".
    public var subject: String {
        var text = signal.title
        if signal == .apiLatencyP95 {
            text +=
                " "
                + [labels["method"], labels["endpoint"]].compactMap { $0 }.filter { !$0.isEmpty }.joined(
                    separator: " ")
        } else {
            let shown = labels.filter { !(signal == .cpu && $0.key == "cpu") }.sorted { $0.key < $1.key }
            if !shown.isEmpty { text += " {" + shown.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}" }
        }
        if let host { text += " on \(host)" }
        return text
    }

    public var isAnomalous: Bool { verdict?.flagged == true }
    public var isTrending: Bool { trend?.flagged == true }

    /// The seed's one-liner: "API P95 GET /v1/search: 450 ms, expected 120 ms (same hour over
    /// the last 7 days, 7 points), +275 %".
    public func summary(days: Int) -> String? {
        guard let verdict, let baseline = verdict.baseline else { return nil }
        var text = "\(subject): \(Self.format(verdict.current, signal.unit)), expected "
        text += "\(Self.format(baseline.expected, signal.unit)) (\(AnomalyReport.basis(days: days)), "
        text += "\(baseline.points) points)"
        if let percent = verdict.deviationPercent {
            text += ", \(percent >= 0 ? "+" : "")\(Self.text(percent, 1)) %"
        }
        if let sigmas = verdict.deviationSigmas { text += " (\(Self.text(sigmas, 1)) σ)" }
        return text
    }

    /// "API P95 GET /v1/search rising for 30 min: +35.2 % (+12.5 ms/h, r² 0.82)".
    public func trendSummary(windowSeconds: Int64) -> String? {
        guard let trend, let direction = trend.direction else { return nil }
        var text = signal.trendText(direction, subject: subject, windowSeconds: windowSeconds)
        let slope = trend.fit.slopePerHour
        text += ": "
        if let change = trend.fit.changePercent { text += "\(change >= 0 ? "+" : "")\(Self.text(change, 1)) % (" }
        text += "\(slope >= 0 ? "+" : "")\(Self.text(slope, 2)) \(signal.unit == "percent" ? "points" : "ms")/h"
        text += ", r² \(Self.text(trend.fit.r2, 2))"
        if trend.fit.changePercent != nil { text += ")" }
        return text
    }

    /// `x` rounded to `digits` decimals (what the API shows).
    public static func rounded(_ value: Double, _ digits: Int) -> Double {
        var factor = 1.0
        for _ in 0..<digits { factor *= 10 }
        return (value * factor).rounded() / factor
    }

    /// `value` rounded to `digits` decimals, without a trailing `.0`.
    public static func text(_ value: Double, _ digits: Int) -> String {
        let number = rounded(value, digits)
        return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    static func format(_ value: Double, _ unit: String) -> String {
        text(value, 2) + (unit == "percent" ? " %" : " \(unit)")
    }
}
