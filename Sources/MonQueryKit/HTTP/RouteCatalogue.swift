import MonCore

/// The access rule of every HTTP route of monquery, in one table: the router reads each
/// route's access from here (`Route.access` in MonQuery), the fuzz target `FuzzHTTPRoute`
/// checks its decisions against it, and a test asserts that the router serves exactly these
/// routes. A route missing here is admin-only (fail closed) and fails that test.
public enum RouteCatalogue {
    public struct Rule: Sendable, Equatable {
        /// `GET`, `POST`.
        public var method: String
        /// The route's path: matched by exact comparison once the request target passed
        /// `RequestTarget` (no empty or dot segments, no escapes), except that a `{name}`
        /// segment (a path parameter) matches any one segment.
        public var path: String
        public var access: RouteAccess
    }

    public static let rules: [Rule] = [
        Rule(method: "GET", path: "/health", access: .open),
        Rule(method: "GET", path: "/health/detailed", access: .open),
        Rule(method: "GET", path: "/metrics", access: .scrape),
        Rule(method: "GET", path: "/openapi.json", access: .open),
        Rule(method: "GET", path: "/api/monitoring/metrics/summary", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/alerts", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/alerts/stream", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/anomalies", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/compare", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/system/cpu", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/system/memory", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/system/disk", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/system/network", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/status", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/connections", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/slow_queries", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/slow_queries/timeline", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/pool", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/tables", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/postgres/indexes", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/redis/status", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/redis/stats", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/redis/keys", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/redis/slowlog", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/redis/commands", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/redis/top_keys", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/metrics", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/traces", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/traces/{trace_id}", access: .viewer),
        Rule(method: "GET", path: "/api/monitoring/logs", access: .admin),
        Rule(method: "GET", path: "/api/monitoring/logs/stream", access: .admin),
        Rule(method: "GET", path: "/api/monitoring/logs/{id}", access: .admin),
        Rule(method: "GET", path: "/api/monitoring/export", access: .admin),
        Rule(method: "GET", path: "/api/monitoring/reports", access: .admin),
        Rule(method: "GET", path: "/api/monitoring/reports/{id}.pdf", access: .admin),
        Rule(method: "GET", path: "/", access: .open),
        Rule(method: "GET", path: "/ui/login", access: .open),
        Rule(method: "POST", path: "/ui/login", access: .login),
        Rule(method: "POST", path: "/ui/logout", access: .session),
        Rule(method: "GET", path: "/ui/assets/dashboard.css", access: .open),
        Rule(method: "GET", path: "/ui/assets/dashboard.js", access: .open),
        Rule(method: "GET", path: "/ui/monitoring/advanced", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/api", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/redis", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/postgres", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/traces", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/traces/{trace_id}", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/logs", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/logs/stream", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/logs/{id}", access: .session),
        Rule(method: "GET", path: "/ui/monitoring/export", access: .session),
    ]

    /// The rule of `method` on `path` (a canonical path), nil when no route matches (404/405).
    public static func rule(method: String, path: String) -> Rule? {
        rules.first { $0.method == method && $0.path == path }
            ?? rules.first { $0.method == method && $0.path.contains("{") && matches(template: $0.path, path: path) }
    }

    /// True when `path` is `template` with each `{name}` segment replaced by one non-empty
    /// segment (the canonical path has no empty, dot or escaped segments already); a segment
    /// `{name}.pdf` matches a segment of at least one character followed by that suffix.
    public static func matches(template: String, path: String) -> Bool {
        let patterns = template.split(separator: "/", omittingEmptySubsequences: false)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard patterns.count == segments.count else { return false }
        return zip(patterns, segments).allSatisfy { pattern, segment in
            guard pattern.hasPrefix("{"), let close = pattern.firstIndex(of: "}") else { return pattern == segment }
            let suffix = pattern[pattern.index(after: close)...]
            return segment.count > suffix.count && segment.hasSuffix(suffix)
        }
    }

    /// A path that reaches the route of `path`: each `{name}` segment replaced by an example
    /// value (tests walk every route with it).
    public static func example(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            switch segment {
            case "{trace_id}": "4bf92f3577b34da6a3ce929d0e0e4736"
            case "{id}.pdf": "1.pdf"
            case "{id}": "1"
            default: String(segment)
            }
        }.joined(separator: "/")
    }

    /// The access of `method` on `path`; admin when the route is not in the table (fail closed).
    public static func access(method: String, path: String) -> RouteAccess {
        rule(method: method, path: path)?.access ?? .admin
    }

    /// Paths that need a credential (anything but `open`/`login`; `/metrics` counts as
    /// protected, as it is with `prometheus.require_token`).
    public static var protectedPaths: [String] {
        var seen = Set<String>()
        return rules.filter { !$0.access.isOpen(metricsRequireToken: true) && seen.insert($0.path).inserted }.map(
            \.path)
    }
}
