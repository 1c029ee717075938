import MonCore

extension EndpointStats.Totals {
    /// The derived API signals, by name: what each one is.
    public static let signals: [String: (unit: String, help: String)] = [
        "api_latency_p50_ms": ("ms", "median request duration"),
        "api_latency_p95_ms": ("ms", "95th percentile request duration"),
        "api_latency_p99_ms": ("ms", "99th percentile request duration"),
        "api_error_rate_percent": ("percent", "share of 5xx responses"),
        "api_requests_per_second": ("requests/s", "request throughput"),
    ]

    /// The derived signal `name` (a key of `signals`) of these requests over a window of
    /// `windowSeconds`; nil without requests or for an unknown name. Shared by the alert
    /// rules, `/compare` and the anomaly detection, so they agree on what "P95" means.
    public func value(of name: String, windowSeconds: Double) -> Double? {
        guard requests > 0 else { return nil }
        switch name {
        case "api_latency_p50_ms": return histogram.quantile(0.5).map { $0 * 1000 }
        case "api_latency_p95_ms": return histogram.quantile(0.95).map { $0 * 1000 }
        case "api_latency_p99_ms": return histogram.quantile(0.99).map { $0 * 1000 }
        case "api_error_rate_percent": return Double(serverErrors) / Double(requests) * 100
        case "api_requests_per_second": return windowSeconds > 0 ? Double(requests) / windowSeconds : nil
        default: return nil
        }
    }
}
