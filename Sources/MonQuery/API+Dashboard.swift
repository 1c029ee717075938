import Hummingbird
import MonCore
import MonQueryKit

extension API {
    /// The fragments each page is made of (and serves alone with `?fragment=`), in page order.
    static let dashboardFragments: [DashboardPage.Section: [String]] = [
        .advanced: [
            "health-badge", "alerts", "anomalies", "card-api", "card-redis", "card-postgres", "card-system",
            "chart-latency", "redis-hit-rate", "slow-queries", "logs",
        ],
        .api: [
            "health-badge", "alerts", "card-api", "chart-latency", "chart-traffic", "chart-heatmap", "endpoints",
            "top-errors",
        ],
        .redis: [
            "health-badge", "alerts", "card-redis", "redis-hit-rate", "chart-redis", "redis-top-keys", "redis-slowlog",
        ],
        .postgres: [
            "health-badge", "alerts", "card-postgres", "chart-postgres", "slow-queries", "postgres-timeline",
            "postgres-pool", "postgres-tables", "postgres-indexes",
        ],
        .logs: ["health-badge", "logs"],
    ]

    static let dashboardParameters: Set<String> = ["period", "host", "fragment"]
    static let dashboardLogParameters: Set<String> = ["level", "service", "q", "trace_id"]
    /// The API page's endpoint table order (`EndpointSort`).
    static let dashboardAPIParameters: Set<String> = ["sort"]

    /// Longest period (or from/to span) of the dashboard: the selector's 30 days.
    static let dashboardMaxPeriodSeconds: Int64 = 30 * 86_400

    func dashboardAdvanced(_ request: Request) async throws -> Response { try await dashboard(request, .advanced) }
    func dashboardAPI(_ request: Request) async throws -> Response { try await dashboard(request, .api) }
    func dashboardRedis(_ request: Request) async throws -> Response { try await dashboard(request, .redis) }
    func dashboardPostgres(_ request: Request) async throws -> Response { try await dashboard(request, .postgres) }
    func dashboardLogs(_ request: Request) async throws -> Response { try await dashboard(request, .logs) }

    /// `GET /ui/monitoring/<section>[?period=1h][&host=][&fragment=][&level=&service=&q=]` —
    /// the page, or with `fragment` only that element (for HTMX `hx-get`). The data comes
    /// from the same functions as the JSON endpoints, in-process.
    func dashboard(_ request: Request, _ section: DashboardPage.Section) async throws -> Response {
        let allowed = Self.dashboardParameters.union(
            section == .logs ? Self.dashboardLogParameters : section == .api ? Self.dashboardAPIParameters : [])
        // The custom range's empty `to` (until now) and its `datetime-local` values (UTC, like
        // every time on the page) become the API's vocabulary (`DashboardRange`).
        let parameters = try DashboardRange.normalized(
            QueryParameters(request, allowed: allowed).droppingEmpty(
                Self.dashboardLogParameters.union(["period", "to"])))
        let nowMs = WallClock.nowMs()
        let range = try parameters.timeRange(
            nowMs: nowMs, retention: settings.retention,
            limits: .init(minimumSeconds: 60, maximumSeconds: Self.dashboardMaxPeriodSeconds))
        let shown = DashboardRange(range, absolute: parameters["from"] != nil)
        let names = Self.dashboardFragments[section] ?? []
        let fragment = parameters["fragment"]
        if let fragment, !names.contains(fragment) {
            throw ParameterError(
                "fragment",
                "'\(fragment.prefix(40))' is not a fragment of \(section.path); one of: \(names.joined(separator: ", "))"
            )
        }
        var panels = DashboardPanels(
            api: self, section: section, range: range, rangeView: shown, host: try parameters.host(),
            logFilter: section == .logs ? try Self.logFilter(parameters) : LogFilter(), nowMs: nowMs)
        if section == .api { panels.endpointSort = try EndpointSort(parameter: parameters["sort"]) }
        if let fragment { return .html(try await panels.render(fragment)) }
        let rendered = try await panels.renderAll(names)
        func take(_ names: String...) -> HTML { names.compactMap { rendered[$0] }.joined() }
        let body: HTML
        switch section {
        case .advanced:
            body = """
                <div class="stack">\(take("alerts", "anomalies"))</div>
                <div class="cards">\(take("card-api", "card-redis", "card-postgres", "card-system"))</div>
                <div class="grid">\(take("chart-latency", "redis-hit-rate", "slow-queries", "logs"))</div>
                """
        case .api:
            body = """
                <div class="stack">\(take("alerts"))</div>
                <div class="cards">\(take("card-api"))</div>
                <div class="grid">\(take("chart-latency", "chart-traffic", "chart-heatmap", "endpoints", "top-errors"))</div>
                """
        case .redis:
            body = """
                <div class="stack">\(take("alerts"))</div>
                <div class="cards">\(take("card-redis"))</div>
                <div class="grid">\(take("redis-hit-rate", "chart-redis", "redis-top-keys", "redis-slowlog"))</div>
                """
        case .postgres:
            body = """
                <div class="stack">\(take("alerts"))</div>
                <div class="cards">\(take("card-postgres"))</div>
                <div class="grid">\(take("chart-postgres", "slow-queries", "postgres-timeline", "postgres-pool", "postgres-tables", "postgres-indexes"))</div>
                """
        case .logs:
            body = "<div class=\"grid\">\(take("logs"))</div>"
        case .traces:
            // Served by `dashboardTraces` (its own filters), never through here.
            body = .empty
        }
        let page = DashboardPage(
            section: section, period: shown.period, from: shown.from, to: shown.to, host: panels.host,
            healthBadge: take("health-badge"),
            authenticationEnabled: authenticator.isEnabled, generatedMs: nowMs, body: body)
        return .html(page.render())
    }
}
