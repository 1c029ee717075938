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
        let parameters = try QueryParameters(request, allowed: Self.dashboardTraceParameters).droppingEmpty([
            "service", "name", "min_duration_ms", "status",
        ])
        let periodText = parameters["period"] ?? "1h"
        let seconds = try DurationText.seconds(periodText, parameter: "period")
        guard seconds >= 60, seconds <= Self.dashboardMaxPeriodSeconds else {
            throw ParameterError("period", "'\(periodText.prefix(40))' must be between 1m and 7d")
        }
        let nowMs = WallClock.nowMs()
        let filter = try Self.traceFilter(parameters)
        let period = DurationText.format(seconds: seconds)
        let page = try await store.traces(
            filter: filter, range: try TimeRange(period: periodText, step: nil, nowMs: nowMs), limit: 200, cursor: nil)
        let rows: [[HTML]] = page.traces.map { trace -> [HTML] in
            let href =
                "/ui/monitoring/traces/\(trace.traceID)" + HTML.query([("period", period), ("host", filter.host)])
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
            <input type="hidden" name="period" value="\(period)">\(hostField)
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
            section: .traces, period: period, host: filter.host, healthBadge: .empty,
            authenticationEnabled: authenticator.isEnabled, generatedMs: nowMs, body: body
        ).render()
        return .html(html)
    }

    func dashboardTrace(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host"])
        let traceID = try Self.traceID(fromPath: request.uri.path)
        let period =
            parameters["period"].flatMap { try? DurationText.seconds($0, parameter: "period") }.map {
                DurationText.format(seconds: $0)
            } ?? "1h"
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
            section: .traces, period: period, host: host, healthBadge: .empty,
            authenticationEnabled: authenticator.isEnabled, generatedMs: nowMs, body: body
        ).render()
        return .html(html, status: status)
    }
}
