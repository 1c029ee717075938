import MonCore
import MonQueryKit

/// The dashboard's fragments, gathered through the JSON API's own functions (summary,
/// health, Redis and PostgreSQL status, slow queries, snapshots) and the query store, and
/// rendered with MonCore's HTML/SVG views. Results shared by several fragments of one page
/// (the summary, the endpoint statistics) are fetched once per request.
struct DashboardPanels {
    let api: API
    let section: DashboardPage.Section
    let range: TimeRange
    /// The range as the page's URL and titles give it.
    let rangeView: DashboardRange
    var period: String { rangeView.period }
    let host: String?
    let logFilter: LogFilter
    let nowMs: Int64
    /// The endpoint table's order (the API page's `sort`).
    var endpointSort = EndpointSort.p95

    private var summaryCache: Summary?
    private var endpointCache: [EndpointStats]?

    init(
        api: API, section: DashboardPage.Section, range: TimeRange, rangeView: DashboardRange, host: String?,
        logFilter: LogFilter, nowMs: Int64
    ) {
        self.api = api
        self.section = section
        self.range = range
        self.rangeView = rangeView
        self.host = host
        self.logFilter = logFilter
        self.nowMs = nowMs
    }

    /// A link to a dashboard page keeping the range and host.
    func link(_ target: DashboardPage.Section, extra: [(String, String?)] = []) -> String {
        target.path + HTML.query(rangeView.query + [("host", host)] + extra)
    }

    var gapMs: Int64 { range.stepSeconds * 2500 }

    mutating func summary() async throws -> Summary {
        if let summaryCache { return summaryCache }
        let value = try await api.summaryView(host: host, nowMs: nowMs)
        summaryCache = value
        return value
    }

    mutating func endpoints() async throws -> [EndpointStats] {
        if let endpointCache { return endpointCache }
        let value = try await Self.endpoints(api, host: host, range: range)
        endpointCache = value
        return value
    }

    /// Endpoint statistics, slowest P95 first.
    static func endpoints(_ api: API, host: String?, range: TimeRange) async throws -> [EndpointStats] {
        EndpointSort.p95.sorted(try await api.store.endpointStats(host: host, range: range))
    }

    /// Fragments that read the summary, and those that read the endpoint statistics.
    static let summaryFragments: Set = ["card-api", "card-redis", "card-postgres", "card-system"]
    static let endpointFragments: Set = ["card-api", "chart-latency", "chart-traffic", "endpoints"]

    /// Every fragment of `names`, rendered concurrently (each request takes its own
    /// connection of the `QueryStorePool`); the summary and the endpoint statistics that
    /// several of them share are fetched first, once, side by side.
    mutating func renderAll(_ names: [String]) async throws -> [String: HTML] {
        let needsSummary = !Self.summaryFragments.isDisjoint(with: names)
        let needsEndpoints = !Self.endpointFragments.isDisjoint(with: names)
        async let summary = needsSummary ? api.summaryView(host: host, nowMs: nowMs) : nil
        async let endpoints = needsEndpoints ? Self.endpoints(api, host: host, range: range) : nil
        if let value = try await summary { summaryCache = value }
        if let value = try await endpoints { endpointCache = value }
        let prepared = self
        return try await withThrowingTaskGroup(of: (String, HTML).self) { group in
            for name in names {
                group.addTask {
                    var panels = prepared
                    return (name, try await panels.render(name))
                }
            }
            var rendered: [String: HTML] = [:]
            for try await (name, html) in group { rendered[name] = html }
            return rendered
        }
    }

    mutating func render(_ fragment: String) async throws -> HTML {
        switch fragment {
        case "health-badge": return await healthBadge()
        case "alerts": return try await alerts()
        case "anomalies": return await anomalies()
        case "card-api": return DashboardView.card(try await apiCard())
        case "card-redis": return DashboardView.card(try await redisCard())
        case "card-postgres": return DashboardView.card(try await postgresCard())
        case "card-system": return DashboardView.card(try await systemCard())
        case "chart-latency": return try await latencyChart()
        case "chart-traffic": return try await trafficChart()
        case "chart-heatmap": return try await latencyHeatmap()
        case "endpoints": return try await endpointTable()
        case "top-errors": return try await topErrors()
        case "redis-hit-rate": return try await redisHitRate()
        case "chart-redis": return try await redisCharts()
        case "redis-top-keys": return try await redisTopKeys()
        case "redis-slowlog": return try await redisSlowlog()
        case "chart-postgres": return try await postgresCharts()
        case "slow-queries": return try await slowQueries()
        case "postgres-timeline": return try await postgresTimeline()
        case "postgres-pool": return try await postgresPool()
        case "postgres-tables": return try await postgresTables()
        case "postgres-indexes": return try await postgresIndexes()
        case "logs": return try await logs()
        default: throw ParameterError("fragment", "'\(fragment.prefix(40))' is not a fragment")
        }
    }

    // MARK: header and alerts

    func healthBadge() async -> HTML {
        let report = await api.healthReport(nowMs: nowMs)
        var problems: [String] = []
        if case .object(let checks)? = report.body["checks"] {
            for (name, check) in checks where check["status"]?.stringValue != "healthy" {
                problems.append("\(name) \(check["status"]?.stringValue ?? "?")")
            }
        }
        let alerts = await api.alertsSummary(host: host)
        let firing = Int(alerts["firing"]?.doubleValue ?? 0)
        return DashboardView.healthBadge(
            status: report.body["status"]?.stringValue ?? "unknown", firing: firing, problems: problems)
    }

    /// Alerts of the summary (`alerts.active`), with their summary and hint.
    mutating func activeAlerts() async throws -> [DashboardView.Alert]? {
        let alerts: JSONValue? = await api.alertsSummary(host: host)
        guard alerts?["evaluated"]?.boolValue == true, case .array(let items)? = alerts?["active"] else { return nil }
        return items.map { item in
            DashboardView.Alert(
                rule: item["rule"]?.stringValue ?? "", host: item["host"]?.stringValue ?? "",
                severity: item["severity"]?.stringValue ?? "", state: item["state"]?.stringValue ?? "",
                since: Self.shortTime(item["since"]?.stringValue ?? ""), summary: item["summary"]?.stringValue ?? "",
                hint: item["hint"]?.stringValue ?? "")
        }
    }

    mutating func alerts() async throws -> HTML {
        let note = api.alerts == nil ? "Alerting is off (alerts.enabled: false)." : "Alert rules not evaluated yet."
        return DashboardView.alerts(try await activeAlerts(), note: note)
    }

    /// Advisory anomalies and trends of the latest evaluation (`/api/monitoring/anomalies`).
    func anomalies() async -> HTML {
        guard let monitor = api.anomalies else {
            return DashboardView.anomalies(nil, note: "Anomaly detection is off (anomalies.enabled: false).")
        }
        guard let report = await monitor.latest else {
            return DashboardView.anomalies(nil, note: "Anomalies not evaluated yet.")
        }
        let findings = report.findings.filter { host == nil || $0.host == nil || $0.host == host }
        var filtered = report
        filtered.findings = findings
        let settings = monitor.settings
        let items =
            filtered.anomalies.map { finding in
                DashboardView.Advisory(
                    kind: "Anomaly", summary: finding.summary(days: settings.baselineDays) ?? finding.subject,
                    hint: finding.verdict?.direction.map { finding.signal.suggestion($0) } ?? "")
            }
            + filtered.trends.map { finding in
                DashboardView.Advisory(
                    kind: "Trend",
                    summary: finding.trendSummary(windowSeconds: settings.trendWindowSeconds) ?? finding.subject,
                    hint: "")
            }
        return DashboardView.anomalies(items)
    }

    /// Firing alerts of the rules whose names start with one of `prefixes`: worst state and summaries.
    mutating func alertState(_ prefixes: [String]) async throws -> (Status, [String]) {
        let matching = (try await activeAlerts() ?? []).filter { alert in
            alert.state == "firing" && prefixes.contains { alert.rule.hasPrefix($0) }
        }
        return (matching.map(\.status).max() ?? .noData, matching.map(\.summary))
    }

    /// `2026-11-29T18:05:00.123Z` → `29 18:05` (the API's own timestamp format, UTC).
    static func shortTime(_ iso: String) -> String {
        guard iso.count >= 16 else { return iso }
        return String(iso.dropFirst(8).prefix(2)) + " " + String(iso.dropFirst(11).prefix(5))
    }
}
