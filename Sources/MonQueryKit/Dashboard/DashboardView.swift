import MonCore

/// Building blocks of the dashboard's pages and fragments. Every element a page can refresh
/// on its own carries `id` and `data-fragment` with the fragment's name, so the page's
/// script (and an HTMX `hx-get`) can swap it in place.
public enum DashboardView {
    /// A card of the top row: title, state (colour and text), a headline figure, details.
    public struct Card: Sendable {
        public var fragment: String
        public var title: String
        public var status: Status
        /// Why the state is not OK, in words ("hit rate 65 % (< 70 %)").
        public var reasons: [String]
        public var headline: (value: String, label: String)
        public var figures: [(label: String, value: String)]
        public var sparkline: HTML?
        public var link: String?

        public init(
            fragment: String, title: String, status: Status, reasons: [String] = [],
            headline: (value: String, label: String), figures: [(label: String, value: String)] = [],
            sparkline: HTML? = nil, link: String? = nil
        ) {
            self.fragment = fragment
            self.title = title
            self.status = status
            self.reasons = reasons
            self.headline = headline
            self.figures = figures
            self.sparkline = sparkline
            self.link = link
        }
    }

    public static func card(_ card: Card) -> HTML {
        let heading = card.fragment + "-h"
        var html: HTML =
            "<section class=\"card \(card.status.cssClass)\" id=\"\(card.fragment)\" data-fragment=\"\(card.fragment)\" aria-labelledby=\"\(heading)\">"
        html += "<header><h2 id=\"\(heading)\">\(card.title)</h2>\(card.status.badge)</header>"
        html +=
            "<p class=\"headline\"><span class=\"big\">\(card.headline.value)</span> <span class=\"unit\">\(card.headline.label)</span></p>"
        if !card.figures.isEmpty {
            let figures: [HTML] = card.figures.map { "<div><dt>\($0.label)</dt><dd>\($0.value)</dd></div>" }
            html += "<dl class=\"figures\">\(figures)</dl>"
        }
        if let sparkline = card.sparkline { html += "<div class=\"spark\">\(sparkline)</div>" }
        if !card.reasons.isEmpty {
            let reasons: [HTML] = card.reasons.map { "<li>\($0)</li>" }
            html += "<ul class=\"reasons\">\(reasons)</ul>"
        }
        if let link = card.link {
            html += "<a class=\"more\" href=\"\(link)\">Details<span aria-hidden=\"true\"> →</span></a>"
        }
        return html + "</section>"
    }

    /// A titled panel that refreshes as one fragment; a `live` panel (the log pane) updates
    /// itself and is left alone by the page's refresh.
    public static func panel(
        _ fragment: String, _ title: String, wide: Bool = false, live: Bool = false, tools: HTML = .empty,
        _ body: HTML
    ) -> HTML {
        let heading = fragment + "-h"
        let classes = "panel" + (wide ? " wide" : "")
        let liveAttribute: HTML = live ? " data-live" : .empty
        return
            "<section class=\"\(classes)\" id=\"\(fragment)\" data-fragment=\"\(fragment)\"\(liveAttribute) aria-labelledby=\"\(heading)\"><div class=\"panel-head\"><h2 id=\"\(heading)\">\(title)</h2>\(tools)</div>\(body)</section>"
    }

    /// One current alert, as the summary endpoint lists it.
    public struct Alert: Sendable {
        public var rule: String
        public var host: String
        public var severity: String
        public var state: String
        public var since: String
        public var summary: String
        public var hint: String

        public init(
            rule: String, host: String, severity: String, state: String, since: String, summary: String, hint: String
        ) {
            self.rule = rule
            self.host = host
            self.severity = severity
            self.state = state
            self.since = since
            self.summary = summary
            self.hint = hint
        }

        /// Critical when firing as critical, warning otherwise (pending alerts included).
        public var status: Status { state == "firing" && severity == "critical" ? .critical : .warning }
    }

    /// The active alerts, or why there are none to show.
    public static func alerts(_ alerts: [Alert]?, note: String? = nil) -> HTML {
        let body: HTML
        if let alerts, !alerts.isEmpty {
            let items: [HTML] = alerts.sorted { ($0.status, $0.since) > ($1.status, $1.since) }.map { alert in
                "<li class=\"alert \(alert.status.cssClass)\">\(alert.status.badge)<div><p class=\"alert-summary\"><strong>\(alert.summary)</strong></p><p class=\"alert-meta\">\(alert.rule) · \(alert.host) · \(alert.severity), \(alert.state) since \(alert.since)</p><p class=\"hint\">Hint: \(alert.hint)</p></div></li>"
            }
            body = "<ul class=\"alerts\">\(items)</ul>"
        } else if alerts != nil {
            body = "<p class=\"quiet\">\(Status.ok.badge) No active alert.</p>"
        } else {
            body = "<p class=\"quiet\">\(Status.noData.badge) \(note ?? "Alerts not evaluated yet.")</p>"
        }
        let count = alerts?.count ?? 0
        return panel("alerts", count > 0 ? "Active alerts (\(count))" : "Active alerts", wide: true, body)
    }

    /// An advisory finding: an anomaly against the seasonal baseline, or a steady trend.
    public struct Advisory: Sendable {
        public var kind: String
        public var summary: String
        public var hint: String

        public init(kind: String, summary: String, hint: String) {
            self.kind = kind
            self.summary = summary
            self.hint = hint
        }
    }

    /// Anomalies and trends: advisory (shown, not paged), so drawn as warnings with a label.
    public static func anomalies(_ items: [Advisory]?, note: String? = nil) -> HTML {
        let body: HTML
        if let items, !items.isEmpty {
            let rows: [HTML] = items.map { item in
                let hint: HTML = item.hint.isEmpty ? "" : "<p class=\"hint\">Suggestion: \(item.hint)</p>"
                return
                    "<li class=\"alert \(Status.warning.cssClass)\">\(Status.warning.badge)<div><p class=\"alert-summary\"><strong>\(item.kind):</strong> \(item.summary)</p>\(hint)</div></li>"
            }
            body = "<ul class=\"alerts\">\(rows)</ul>"
        } else if items != nil {
            body =
                "<p class=\"quiet\">\(Status.ok.badge) Every key signal is within 3 σ of its usual value at this hour.</p>"
        } else {
            body = "<p class=\"quiet\">\(Status.noData.badge) \(note ?? "Anomalies not evaluated yet.")</p>"
        }
        let count = items?.count ?? 0
        return panel(
            "anomalies", count > 0 ? "Anomalies and trends (\(count))" : "Anomalies and trends", wide: true, body)
    }

    /// The header badge: `/health/detailed`'s status and the number of firing alerts.
    public static func healthBadge(status: String, firing: Int, problems: [String]) -> HTML {
        let level: Status =
            status == "healthy" ? (firing > 0 ? .warning : .ok) : status == "degraded" ? .warning : .critical
        let text = status.prefix(1).uppercased() + status.dropFirst()
        let alertText = firing == 0 ? "no alert firing" : firing == 1 ? "1 alert firing" : "\(firing) alerts firing"
        let detail = problems.isEmpty ? alertText : alertText + "; " + problems.joined(separator: "; ")
        return
            "<a class=\"health \(level.cssClass)\" id=\"health-badge\" data-fragment=\"health-badge\" href=\"/health/detailed\" title=\"\(detail)\"><span aria-hidden=\"true\">\(level.symbol)</span> <span class=\"health-text\">\(text)</span> <span class=\"health-alerts\">\(alertText)</span></a>"
    }

    /// A column header that orders the table on the server: a link to the page with its
    /// `sort`, marked `aria-sort` when it is the order shown (always descending).
    public struct SortLink: Sendable {
        public var href: String
        public var active: Bool

        public init(href: String, active: Bool) {
            self.href = href
            self.active = active
        }
    }

    /// A table; `numeric` columns are right-aligned; `sortLinks` make those headers links.
    public static func table(
        _ caption: String, headers: [String], numeric: Set<Int> = [], rows: [[HTML]], sortLinks: [Int: SortLink] = [:]
    ) -> HTML {
        guard !rows.isEmpty else {
            return "<div class=\"no-data\" role=\"note\">\(caption): no data for this period</div>"
        }
        let head: [HTML] = headers.enumerated().map { index, name in
            let align: HTML = numeric.contains(index) ? HTML(raw: " class=\"num\"") : .empty
            guard let sort = sortLinks[index] else { return "<th scope=\"col\"\(align)>\(name)</th>" }
            let state: HTML = sort.active ? HTML(raw: " aria-sort=\"descending\"") : .empty
            let arrow = sort.active ? " ▼" : ""
            return
                "<th scope=\"col\"\(align)\(state)><a class=\"sort\" href=\"\(sort.href)\" title=\"Sort by \(name), highest first\">\(name)\(arrow)</a></th>"
        }
        let body: [HTML] = rows.map { row in
            let cells: [HTML] = row.enumerated().map { index, cell in
                "<td\(numeric.contains(index) ? HTML(raw: " class=\"num\"") : .empty)>\(cell)</td>"
            }
            return "<tr>\(cells)</tr>"
        }
        return
            "<div class=\"table-wrap\"><table><caption class=\"sr-only\">\(caption)</caption><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>"
    }

    /// One log record as a row of the log pane (the script builds the same from the stream):
    /// its level, service and host link to the logs filtered on them (`filterLink(name, value)`
    /// gives the URL), its trace id links to the trace and has a copy button, and a JSON button
    /// expands the row to the whole record (the message is cut at 400 characters).
    public static func logRow(_ log: StoredLog, filterLink: (_ name: String, _ value: String) -> String) -> HTML {
        let record = log.record
        let level = record.level.name
        func filter(_ name: String, _ value: String, _ text: HTML, _ title: String) -> HTML {
            "<a class=\"filter-link\" href=\"\(filterLink(name, value))\" title=\"\(title)\">\(text)</a>"
        }
        let levelCell = filter(
            "level", level, "<span class=\"lvl\">\(level.uppercased())</span>", "Only \(level) and above")
        let serviceCell = filter("service", record.service, "\(record.service)", "Only service \(record.service)")
        let hostCell = filter("host", log.host, "\(log.host)", "Only host \(log.host)")
        return
            "<tr class=\"lv-\(level)\" data-id=\"\(Int(log.id))\"><td class=\"ts\">\(DashboardFormat.clock(ms: record.timestampMs, seconds: true))</td><td>\(levelCell)</td><td>\(serviceCell)</td><td>\(hostCell)</td><td class=\"msg\">\(logMessage(record))\(traceLink(record.traceID)) <button type=\"button\" class=\"log-expand\" aria-expanded=\"false\" title=\"The whole record as JSON, with its fields to filter on\">JSON</button></td></tr>"
    }

    /// A link to the trace page for a record's `trace_id` (32 hex digits) and a button that
    /// copies the id, else nothing.
    public static func traceLink(_ traceID: String?) -> HTML {
        guard let id = traceID?.lowercased(), SpanRecord.isValidID(id, hexDigits: 32) else { return .empty }
        return
            " <a class=\"trace-link\" href=\"/ui/monitoring/traces/\(id)\" title=\"This request's trace\">trace</a> <button type=\"button\" class=\"copy-trace\" data-trace=\"\(id)\" title=\"Copy the trace id \(id)\">copy id</button>"
    }

    /// `event key=value …` of a record's fields (first 400 characters).
    static func logMessage(_ record: LogRecord) -> String {
        var text = record.event
        if case .object(let pairs)? = try? JSONParser.parse(record.fields.utf8) {
            for (key, value) in pairs {
                switch value {
                case .string(let string): text += " \(key)=\(string)"
                case .null: continue
                default: text += " \(key)=\(value.encoded())"
                }
            }
        }
        return text.count > 400 ? String(text.prefix(399)) + "…" : text
    }
}
