import Hummingbird
import MonCore
import MonQueryKit

/// The dashboard's trace pages: the list (`/ui/monitoring/traces`, the `/traces` query) and
/// one trace's waterfall (`/ui/monitoring/traces/{trace_id}`, `TraceWaterfall`).
extension API {
    static let dashboardTraceParameters: Set<String> = [
        "period", "host", "service", "name", "min_duration_ms", "status",
    ]

    func dashboardTraces(_ request: Request) async throws -> Response {
        // The dashboard's range vocabulary (`DashboardRange`): `period`, or a custom `from`/`to`.
        let parameters = try DashboardRange.normalized(
            QueryParameters(request, allowed: Self.dashboardTraceParameters).droppingEmpty([
                "service", "name", "min_duration_ms", "status", "period", "to",
            ]))
        let nowMs = WallClock.nowMs()
        let range = try parameters.timeRange(
            nowMs: nowMs, retention: nil,
            limits: .init(minimumSeconds: 60, maximumSeconds: Self.dashboardMaxPeriodSeconds))
        let shown = DashboardRange(range, absolute: parameters["from"] != nil)
        let filter = try Self.traceFilter(parameters)
        let page = try await store.traces(filter: filter, range: range, limit: 200, cursor: nil)
        let rows: [[HTML]] = page.traces.map { trace -> [HTML] in
            let href =
                "/ui/monitoring/traces/\(trace.traceID)" + HTML.query(shown.query + [("host", filter.host)])
            return [
                "<a class=\"trace-link\" href=\"\(href)\"><code>\(String(trace.traceID.prefix(12)))…</code></a>",
                "\(trace.rootMissing ? "(root not stored) " : "")\(trace.rootName)",
                "\(trace.services.joined(separator: ", "))",
                "\(DashboardFormat.clock(ms: trace.startUs / 1000, withDay: true, seconds: true))",
                "\(DashboardFormat.milliseconds(Double(trace.durationNs) / 1e6))",
                "\(trace.spanCount)",
                trace.errorCount > 0 ? "<span class=\"bad\">\(trace.errorCount)</span>" : "0",
            ]
        }
        let hostField: HTML = filter.host.map { "<input type=\"hidden\" name=\"host\" value=\"\($0)\">" } ?? .empty
        let minDuration = parameters["min_duration_ms"] ?? ""
        let filters: HTML = """
            <form class="filters" method="get" action="/ui/monitoring/traces" role="search">
            <label for="trace-service">Service</label><input id="trace-service" name="service" size="12" value="\(filter.service ?? "")">
            <label for="trace-name">Span name</label><input id="trace-name" name="name" size="16" value="\(filter.name ?? "")">
            <label for="trace-min">Min ms</label><input id="trace-min" name="min_duration_ms" size="6" inputmode="decimal" value="\(minDuration)">
            <label><input type="checkbox" name="status" value="error"\(filter.errorsOnly ? HTML(raw: " checked") : .empty)> errors only</label>
            \(shown.hiddenFields)\(hostField)
            <button type="submit">Filter</button>
            </form>
            """
        let table = DashboardView.table(
            "Traces", headers: ["Trace", "Root span", "Services", "Start (UTC)", "Duration", "Spans", "Errors"],
            numeric: [4, 5, 6], rows: rows)
        let more: HTML =
            page.next != nil
            ? "<p class=\"quiet\">Showing the newest 200; narrow the filters or the period for older ones.</p>" : .empty
        let body: HTML =
            "<div class=\"grid\">\(DashboardView.panel("traces", "Traces", wide: true, "\(filters)\(table)\(more)"))</div>"
        let html = DashboardPage(
            section: .traces, period: shown.period, from: shown.from, to: shown.to, host: filter.host,
            healthBadge: .empty,
            authenticationEnabled: authenticator.isEnabled, generatedMs: nowMs, body: body
        ).render()
        return .html(html)
    }

    func dashboardTrace(_ request: Request) async throws -> Response {
        let parameters = try DashboardRange.normalized(
            QueryParameters(request, allowed: ["period", "host"]).droppingEmpty(["period", "to"]))
        let traceID = try Self.traceID(fromPath: request.uri.path)
        // The range only travels on in the page's links (a trace is read whole, whenever it was).
        let shown = DashboardRange(
            try parameters.timeRange(
                nowMs: WallClock.nowMs(), retention: nil,
                limits: .init(minimumSeconds: 60, maximumSeconds: Self.dashboardMaxPeriodSeconds)),
            absolute: parameters["from"] != nil)
        let host = try parameters.host()
        let nowMs = WallClock.nowMs()
        let (spans, truncated) = try await store.traceSpans(traceID)
        let body: HTML
        let status: HTTPResponse.Status
        if spans.isEmpty {
            status = .notFound
            body =
                "<div class=\"grid\">\(DashboardView.panel("trace", "Trace \(traceID)", wide: true, "<p class=\"quiet\">No stored span has this trace id (not received, or past retention).</p>"))</div>"
        } else {
            status = .ok
            let tree = TraceTree(spans)
            let root = tree.root.map { tree.nodes[$0].span }
            let errors = tree.nodes.filter { $0.span.status == "error" }.count
            let summary: HTML = """
                <p class="trace-summary"><strong>\(root.map { "\($0.service) · \($0.name)" } ?? "")</strong> · \
                \(DashboardFormat.milliseconds(Double(tree.durationNs) / 1e6)) · \(tree.nodes.count) spans · \
                \(errors) errors · started \(DashboardFormat.clock(ms: tree.startNs / 1_000_000, withDay: true, seconds: true)) UTC\
                \(tree.duplicates > 0 ? " · \(tree.duplicates) duplicate rows ignored" : "")\
                \(truncated ? " · only the first \(QueryStore.maxTraceSpans) spans read" : "") · \
                <a href="/api/monitoring/traces/\(traceID)">JSON</a> · \
                <a href="/ui/monitoring/logs\(HTML.query([("period", "24h"), ("trace_id", traceID)]))">logs</a></p>
                """
            body =
                "<div class=\"grid\">\(DashboardView.panel("trace", "Trace \(traceID)", wide: true, summary + TraceWaterfall.render(tree)))</div>"
        }
        let html = DashboardPage(
            section: .traces, period: shown.period, from: shown.from, to: shown.to, host: host, healthBadge: .empty,
            authenticationEnabled: authenticator.isEnabled, generatedMs: nowMs, body: body
        ).render()
        return .html(html, status: status)
    }
}
