import MonCore

/// The trace page's waterfall: one SVG bar per span on the trace's time axis, labels indented
/// by depth, the critical path outlined, bars coloured by what the span does (database, Redis,
/// outgoing HTTP, server, other), self time in each bar's tooltip.
public enum TraceWaterfall {
    /// Most bars drawn; a larger trace is cut (the API still returns every span).
    public static let maxBars = 2000
    static let width = 1200.0
    static let labelWidth = 360.0
    static let rowHeight = 20.0
    static let barHeight = 14.0

    /// What a span does, for its colour: from `db.system` (redis, else a database), a client
    /// span with HTTP attributes, else its kind.
    public enum Category: String, Sendable, CaseIterable {
        case db, redis, http, server, client, messaging, `internal`

        public var colour: String {
            switch self {
            case .db: return "#e8871e"
            case .redis: return "#d62d20"
            case .http: return "#2e9e5b"
            case .server: return "#3d6fb6"
            case .client: return "#6aa6d8"
            case .messaging: return "#9b6bb5"
            case .internal: return "#8d96a0"
            }
        }

        public var label: String {
            switch self {
            case .db: return "database"
            case .redis: return "Redis"
            case .http: return "HTTP client"
            case .server: return "server"
            case .client: return "other client"
            case .messaging: return "messaging"
            case .internal: return "internal"
            }
        }
    }

    public static func category(_ span: TraceSpan) -> Category {
        let attributes = (try? JSONParser.parse(span.attributes.utf8)) ?? .object([])
        if case .string(let system)? = attributes["db.system"] ?? attributes["db.system.name"] {
            return system.lowercased() == "redis" ? .redis : .db
        }
        switch span.kind {
        case "client":
            let http = ["http.method", "http.request.method", "url.full", "http.url"].contains { attributes[$0] != nil }
            return http ? .http : .client
        case "server": return .server
        case "producer", "consumer": return .messaging
        default: return .internal
        }
    }

    /// Widths of one character of the 11-px span names and the 10-px durations (a sans-serif average, generous).
    static let nameCharWidth = 6.2
    static let durationCharWidth = 5.8

    /// Where a bar's duration goes: right of the bar when it fits before the edge; else inside
    /// the bar's right end in white when the bar is wide enough (the root, a span ending with the
    /// trace); else left of the bar (a thin bar near the end). Never over the bar's edge.
    static func durationLabel(_ text: String, barX x: Double, barWidth w: Double, y: Double) -> HTML {
        let textWidth = Double(text.count) * durationCharWidth
        let (position, anchor, fill): (Double, String, String) =
            if x + w + 4 + textWidth <= width {
                (x + w + 4, "start", "#555")
            } else if w >= textWidth + 8 {
                (x + w - 4, "end", "#fff")
            } else {
                (x - 4, "end", "#555")
            }
        return
            "<text class=\"span-duration\" x=\"\(DashboardFormat.coordinate(position))\" y=\"\(DashboardFormat.coordinate(y))\" font-size=\"10\" fill=\"\(fill)\" text-anchor=\"\(anchor)\">\(text)</text>"
    }

    /// Milliseconds with three significant decimals at most.
    static func ms(_ ns: Int64) -> String { DashboardFormat.milliseconds(Double(ns) / 1e6) }

    /// The SVG (and a legend), `traceHref` linking nothing: every bar is a `<g class="span-bar">`.
    public static func render(_ tree: TraceTree) -> HTML {
        let nodes = tree.nodes.prefix(maxBars)
        let total = max(1, tree.durationNs)
        let chart = width - labelWidth - 10
        let height = Double(nodes.count) * rowHeight + 24
        var rows: [HTML] = []
        rows.reserveCapacity(nodes.count)
        for (row, node) in nodes.enumerated() {
            let span = node.span
            let category = category(span)
            let y = 20 + Double(row) * rowHeight
            let x = labelWidth + Double(span.startNs &- tree.startNs) / Double(total) * chart
            let w = max(1, Double(max(0, span.durationNs)) / Double(total) * chart)
            let indent = 4 + Double(min(node.depth, 24)) * 10
            let label = span.service.isEmpty ? span.name : "\(span.service) · \(span.name)"
            // Cut to the label column left at this depth, so a deep or long name never runs under the bars.
            let fits = max(8, Int((labelWidth - indent - 8) / nameCharWidth))
            let shown = label.count > fits ? String(label.prefix(fits - 1)) + "…" : label
            let duration = durationLabel(ms(span.durationNs), barX: x, barWidth: w, y: y + barHeight - 3)
            let tooltip =
                "\(label)\n\(ms(span.durationNs)) total, \(ms(node.selfTimeNs)) self · \(span.kind) · \(category.label)"
                + (span.status == "error"
                    ? " · error\(span.statusMessage.isEmpty ? "" : ": " + span.statusMessage)" : "")
                + (node.onCriticalPath ? " · critical path" : "") + (node.missingParent ? " · parent not stored" : "")
                + (node.inCycle ? " · parent cycle cut here" : "")
            let classes =
                "span-bar cat-\(category.rawValue)" + (span.status == "error" ? " error" : "")
                + (node.onCriticalPath ? " critical" : "")
            let outline: HTML =
                node.onCriticalPath
                ? " stroke=\"#111\" stroke-width=\"2\""
                : span.status == "error" ? " stroke=\"#b00020\" stroke-width=\"1.5\"" : .empty
            rows.append(
                """
                <g class="\(classes)" data-span-id="\(span.spanID)" data-depth="\(node.depth)"><title>\(tooltip)</title>\
                <text x="\(DashboardFormat.coordinate(indent))" y="\(DashboardFormat.coordinate(y + barHeight - 3))" font-size="11">\(shown)</text>\
                <rect x="\(DashboardFormat.coordinate(x))" y="\(DashboardFormat.coordinate(y))" width="\(DashboardFormat.coordinate(w))" height="\(DashboardFormat.coordinate(barHeight))" rx="2" fill="\(category.colour)"\(outline)></rect>\
                \(duration)</g>
                """)
        }
        var ticks: [HTML] = []
        for step in 0...4 {
            let x = labelWidth + Double(step) / 4 * chart
            ticks.append(
                "<text x=\"\(DashboardFormat.coordinate(x))\" y=\"12\" font-size=\"10\" fill=\"#555\" text-anchor=\"\(step == 4 ? "end" : step == 0 ? "start" : "middle")\">\(ms(Int64(Double(total) * Double(step) / 4)))</text>"
            )
        }
        let legend: [HTML] = Category.allCases.map { category in
            "<span class=\"legend-item\"><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"\(category.colour)\"></rect></svg> \(category.label)</span>"
        }
        let cut: HTML =
            tree.nodes.count > maxBars
            ? "<p class=\"quiet\">The first \(maxBars) of \(tree.nodes.count) spans are drawn; the API returns them all.</p>"
            : .empty
        return """
            <p class="legend">\(legend) <span class="legend-item">outlined: critical path</span></p>\(cut)\
            <div class="waterfall-wrap"><svg class="waterfall" role="img" aria-label="Waterfall of \(nodes.count) spans" viewBox="0 0 \(DashboardFormat.coordinate(width)) \(DashboardFormat.coordinate(height))" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">\(ticks)\(rows)</svg></div>
            """
    }
}
