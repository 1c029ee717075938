import MonCore

/// Who may call a route (DESIGN §9): declared once per route in `RouteCatalogue` and enforced
/// where the route is dispatched, never from a prefix of the raw path.
public enum RouteAccess: String, Sendable, CaseIterable {
    /// No token ever (`/health`, `/openapi.json`, the login form, the dashboard's assets).
    case open
    /// Open, but the request carries a credential to check (`POST /ui/login`): failed
    /// attempts are counted and throttled per client address like failed bearer tokens.
    case login
    /// `/metrics`: open unless `prometheus.require_token`, then like `viewer`.
    case scrape
    /// A viewer or admin bearer token.
    case viewer
    /// An admin bearer token (logs, the live log stream, exports).
    case admin
    /// The dashboard: an admin session cookie from `/ui/login`, or an admin bearer token.
    case session

    /// Reachable without any credential even when tokens are configured.
    public func isOpen(metricsRequireToken: Bool) -> Bool {
        switch self {
        case .open, .login: return true
        case .scrape: return !metricsRequireToken
        case .viewer, .admin, .session: return false
        }
    }
}
