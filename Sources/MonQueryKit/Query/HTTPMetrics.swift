import MonCore
import Synchronization

/// Duration of the daemon's HTTP requests by route (the matched path pattern, so the label
/// set is bounded), method and status, for `/metrics`.
public final class HTTPMetrics: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: String
    }

    private let state = Mutex<[Key: Histogram]>([:])

    public init() {}

    public func record(route: String, method: String, status: Int, seconds: Double) {
        let key = Key(route: route, method: method, status: String(status))
        state.withLock { _ = $0[key, default: Histogram()].record(max(seconds, 0)) }
    }

    /// `mon_query_http_request_duration_seconds` as a histogram family.
    public func render(into out: inout PrometheusText) {
        let entries = state.withLock { $0 }.sorted {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }
        let name = "mon_query_http_request_duration_seconds"
        out.family(name, type: .histogram)
        for (key, histogram) in entries {
            out.histogram(name, [("route", key.route), ("method", key.method), ("status", key.status)], histogram)
        }
    }
}
