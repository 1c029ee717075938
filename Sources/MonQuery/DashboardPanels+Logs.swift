import MonCore
import MonQueryKit

/// The live log pane: the latest records of the period (`/logs`' query), then new ones as
/// they are stored over `/ui/monitoring/logs/stream` (the API's SSE handler behind the
/// dashboard's session), with level/service/search filters, pause, auto-scroll and CSV export.
extension DashboardPanels {
    static let levelChoices = ["debug", "info", "warning", "error", "critical"]

    /// The logs page with this panel's filters, range and host, and `name` set to `value`:
    /// where a click on a row's level, service or host (or a field of its JSON) leads. The
    /// script sets the name on the base (nil, nil) for the rows the stream brings.
    func logFilterLink(_ name: String?, _ value: String?) -> String {
        var pairs: [(String, String?)] =
            [
                ("level", logFilter.level?.name), ("service", logFilter.service), ("q", logFilter.query),
                ("trace_id", logFilter.traceID),
            ] + rangeView.query + [("host", host)]
        if let name {
            pairs.removeAll { $0.0 == name }
            pairs.append((name, value))
        }
        return "/ui/monitoring/logs" + HTML.query(pairs)
    }

    func logs() async throws -> HTML {
        let limit = section == .logs ? 300 : 100
        let page = try await api.store.logs(filter: logFilter, range: range, limit: limit, cursor: nil)
        let records = Array(page.logs.reversed())
        let lastID = page.logs.map(\.id).max() ?? 0
        let levelName = logFilter.level?.name
        let stream =
            "/ui/monitoring/logs/stream"
            + HTML.query([
                ("level", levelName), ("service", logFilter.service), ("q", logFilter.query), ("host", host),
                rangeView.streamStart, ("last_event_id", String(lastID)),
            ])
        let export =
            "/ui/monitoring/export"
            + HTML.query([("format", "csv"), ("type", "logs")] + rangeView.query + [("host", host)])
        let levels: [HTML] = Self.levelChoices.map { level in
            "<option value=\"\(level)\"\(level == levelName ? HTML(raw: " selected") : .empty)>\(level) and above</option>"
        }
        let services = Set(page.logs.map(\.record.service)).sorted().prefix(50)
        let serviceOptions: [HTML] = services.map { "<option value=\"\($0)\"></option>" }
        let hostField: HTML = host.map { "<input type=\"hidden\" name=\"host\" value=\"\($0)\">" } ?? .empty
        let filters: HTML = """
            <form class="filters" method="get" action="/ui/monitoring/logs" role="search">
            <label for="log-level">Level</label><select id="log-level" name="level"><option value="">any</option>\(levels)</select>
            <label for="log-service">Service</label><input id="log-service" name="service" list="log-services" size="12" value="\(logFilter.service ?? "")"><datalist id="log-services">\(serviceOptions)</datalist>
            <label for="log-q">Search</label><input id="log-q" name="q" type="search" size="18" value="\(logFilter.query ?? "")">
            \(rangeView.hiddenFields)\(hostField)
            <button type="submit">Filter</button>
            </form>
            """
        let tools: HTML = """
            <div class="log-tools"><button type="button" class="log-pause" aria-pressed="false">Pause</button>
            <label><input type="checkbox" class="log-autoscroll" checked> Auto-scroll</label>
            <a href="\(export)" download>Export CSV</a>
            <span class="log-status" aria-live="off">\(records.count) records</span></div>
            """
        let rows = records.map { DashboardView.logRow($0, filterLink: logFilterLink) }
        let empty: HTML =
            records.isEmpty
            ? "<p class=\"quiet\">No log record in this period yet; new ones appear here live.</p>" : .empty
        return DashboardView.panel(
            "logs", "Live logs", wide: true, live: true, tools: tools,
            """
            \(filters)\(empty)<div class="log-pane" role="log" aria-live="polite" aria-relevant="additions" aria-label="Log records, newest at the bottom" tabindex="0" data-stream="\(stream)" data-filter-base="\(logFilterLink(nil, nil))"><table><caption class="sr-only">Log records</caption><thead class="sr-only"><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Service</th><th scope="col">Host</th><th scope="col">Message</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """)
    }
}
