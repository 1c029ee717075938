import MonCore

/// `anomalies.*` of monquery.yaml: seasonal-baseline anomaly detection and trend flags on
/// the key signals. Advisory: shown by `/api/monitoring/anomalies` and the summary, never
/// paged unless an alert rule uses an `anomaly_*` signal.
public struct AnomalySettings: Sendable, Equatable {
    /// `anomalies.enabled` (default true).
    public var enabled: Bool
    /// `anomalies.interval_seconds` — signals are evaluated this often (default 30).
    public var interval: Double
    /// `anomalies.signals` — which key signals (default all: api_latency_p95_ms,
    /// api_error_rate_percent, redis_hit_rate_percent, postgres_mean_query_ms, cpu_percent).
    public var signals: [AnomalySignal]
    /// `anomalies.baseline_days` — the baseline is the same hour of day over this many
    /// previous days, one point a day (default 7).
    public var baselineDays: Int
    /// `anomalies.sigmas` (3) and `anomalies.min_baseline_points` (5, at most baseline_days).
    public var detector: AnomalyDetector
    /// `anomalies.current_window` — the current value is the signal over this last window (default 5m).
    public var currentWindowSeconds: Int64
    /// `anomalies.min_requests` — API signals need this many requests in the current window
    /// and in a baseline hour for it to count (default 20).
    public var minRequests: Int64
    /// `anomalies.trend_window` — least-squares fit over this last window, one point a
    /// minute (default 30m).
    public var trendWindowSeconds: Int64
    /// `anomalies.trend_min_change_percent` (20), `anomalies.trend_min_r2` (0.5): a trend
    /// is flagged when the fitted line changes by at least this share of the window's mean
    /// and fits at least this well.
    public var trend: TrendDetector

    public init() {
        enabled = true
        interval = 30
        signals = AnomalySignal.allCases
        baselineDays = 7
        detector = AnomalyDetector()
        currentWindowSeconds = 300
        minRequests = 20
        trendWindowSeconds = 1800
        trend = TrendDetector()
    }

    public init(source: ConfigSource) throws {
        self.init()
        enabled = try source.bool("anomalies.enabled", default: enabled)
        interval = try source.double("anomalies.interval_seconds", default: interval, range: 0.2...3600)
        let names = try source.stringList("anomalies.signals", default: signals.map(\.rawValue))
        signals = try names.map { name in
            guard let signal = AnomalySignal(rawValue: name) else {
                throw ConfigError(
                    key: "anomalies.signals",
                    message: "'\(name.prefix(80))' is not one of "
                        + AnomalySignal.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return signal
        }
        baselineDays = try source.int("anomalies.baseline_days", default: baselineDays, range: 1...60)
        detector.sigmas = try source.double("anomalies.sigmas", default: detector.sigmas, range: 0.5...100)
        detector.minimumPoints = try source.int(
            "anomalies.min_baseline_points", default: detector.minimumPoints, range: 1...60)
        guard detector.minimumPoints <= baselineDays else {
            throw ConfigError(
                key: "anomalies.min_baseline_points",
                message:
                    "\(detector.minimumPoints) is more than anomalies.baseline_days (\(baselineDays)): nothing would ever be judged"
            )
        }
        currentWindowSeconds = try Self.duration(
            source, "anomalies.current_window", default: currentWindowSeconds, range: 60...3600)
        minRequests = Int64(
            try source.int("anomalies.min_requests", default: Int(minRequests), range: 0...1_000_000_000))
        trendWindowSeconds = try Self.duration(
            source, "anomalies.trend_window", default: trendWindowSeconds, range: 300...86_400)
        trend.minimumChangePercent = try source.double(
            "anomalies.trend_min_change_percent", default: trend.minimumChangePercent, range: 0.1...100_000)
        trend.minimumR2 = try source.double("anomalies.trend_min_r2", default: trend.minimumR2, range: 0...1)
    }

    /// A duration key (`5m`, `1h`) within `range` seconds.
    static func duration(
        _ source: ConfigSource, _ key: String, default defaultValue: Int64, range: ClosedRange<Int64>
    ) throws -> Int64 {
        guard let value = source.value(key) else { return defaultValue }
        let seconds: Int64
        do {
            seconds = try DurationText.seconds(value.text, parameter: key)
        } catch {
            throw ConfigError(key: key, message: "\(error.message) (\(value.origin))")
        }
        guard range.contains(seconds) else {
            throw ConfigError(
                key: key,
                message:
                    "\(value.text) is out of range \(DurationText.format(seconds: range.lowerBound))...\(DurationText.format(seconds: range.upperBound)) (\(value.origin))"
            )
        }
        return seconds
    }
}
