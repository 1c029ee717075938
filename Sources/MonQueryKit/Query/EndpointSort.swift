import MonCore

/// The orders of the endpoint table: `sort=` of `/api/monitoring/metrics?type=api` and of the
/// dashboard's API page (its column headers).
public enum EndpointSort: String, CaseIterable, Sendable {
    /// Slowest P95 first.
    case p95
    /// Most 5xx first (then most requests).
    case errors
    /// Most requests first.
    case rate

    /// From a `sort` parameter (nil: the default, `p95`).
    public init(parameter: String?) throws(ParameterError) {
        guard let value = parameter else {
            self = .p95
            return
        }
        guard let sort = EndpointSort(rawValue: value) else {
            throw ParameterError(
                "sort", "'\(value.prefix(40))' is not one of \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = sort
    }

    public func sorted(_ endpoints: [EndpointStats]) -> [EndpointStats] {
        switch self {
        case .errors: endpoints.sorted { ($0.serverErrors, $0.requests) > ($1.serverErrors, $1.requests) }
        case .rate: endpoints.sorted { $0.requests > $1.requests }
        case .p95: endpoints.sorted { ($0.histogram.quantile(0.95) ?? 0) > ($1.histogram.quantile(0.95) ?? 0) }
        }
    }
}
