import Testing

@testable import MonCore
@testable import MonQueryKit

/// The PDF report's model and layout on plain values: what goes on which page, where tables
/// break, what a chart draws, which regressions a pair of periods gives.
@Suite struct ReportLayoutTests {
    /// Records every call; text is 0.55 × size wide per character.
    final class RecordingCanvas: ReportCanvas {
        struct Text {
            var text: String
            var x: Double
            var y: Double
            var size: Double
            var bold: Bool
            var page: Int
        }
        let pageWidth = 595.0
        let pageHeight = 842.0
        var texts: [Text] = []
        var lines: [[(x: Double, y: Double)]] = []
        var rectangles: [(x: Double, y: Double, width: Double, height: Double)] = []
        var page = 1

        func textWidth(_ text: String, size: Double, bold: Bool) -> Double { Double(text.count) * size * 0.55 }
        func text(_ text: String, x: Double, y: Double, size: Double, bold: Bool, colour: ReportColour) {
            texts.append(Text(text: text, x: x, y: y, size: size, bold: bold, page: page))
        }
        func rectangle(
            x: Double, y: Double, width: Double, height: Double, fill: ReportColour?, stroke: ReportColour?,
            lineWidth: Double
        ) {
            rectangles.append((x, y, width, height))
        }
        func polyline(_ points: [(x: Double, y: Double)], colour: ReportColour, lineWidth: Double) {
            lines.append(points)
        }
        func newPage() { page += 1 }

        func onPage(_ page: Int) -> [String] { texts.filter { $0.page == page }.map(\.text) }
    }

    static let day: Int64 = 86_400_000
    static let now: Int64 = 20_000 * day + 3 * 3_600_000

    static func report(sections: [PeriodReport.Section], host: String? = nil) -> PeriodReport {
        PeriodReport(
            period: "24h", startMs: now - day, endMs: now, host: host, generatedMs: now,
            cards: [
                .init(title: "API P95", value: "905 ms", detail: "previous 101 ms (+796 %)", tone: .critical),
                .init(title: "Alerts fired", value: "2", detail: "1 critical, 0 still firing"),
            ], sections: sections)
    }

    static func table(rows: Int, cell: String = "GET /v1/search") -> PeriodReport.Table {
        PeriodReport.Table(
            columns: [
                .init("What", width: 0.3), .init("Where", width: 0.5), .init("After", width: 0.2, alignRight: true),
            ],
            rows: (0..<rows).map { ["row \($0)", cell, "\($0) ms"] }, empty: "nothing")
    }

    @Test("page 1 starts with the title, the period, the host and the cards")
    func header() throws {
        let canvas = RecordingCanvas()
        let pages = try ReportLayout.draw(Self.report(sections: []), on: canvas)
        #expect(pages == 1)
        let first = canvas.onPage(1)
        #expect(first.first == "MnemoLite monitoring report")
        #expect(first.contains("Period: last 24h, 2024-10-03 03:00 – 2024-10-04 03:00 UTC"))
        #expect(first.contains("Host: all hosts"))
        #expect(first.contains("Generated at 2024-10-04 03:00:00 UTC"))
        #expect(first.contains("905 ms") && first.contains("previous 101 ms (+796 %)"))
        let one = RecordingCanvas()
        try ReportLayout.draw(Self.report(sections: [], host: "db-1"), on: one)
        #expect(one.onPage(1).contains("Host: db-1"))
    }

    @Test("a table longer than a page continues on the next under its header again, every row once")
    func tableBreaks() throws {
        let canvas = RecordingCanvas()
        let pages = try ReportLayout.draw(
            Self.report(sections: [.init(title: "Regressions", blocks: [.table(Self.table(rows: 150))])]), on: canvas)
        #expect(pages >= 3)
        #expect(canvas.page == pages)
        for row in 0..<150 { #expect(canvas.texts.filter { $0.text == "row \(row)" }.count == 1) }
        // The header on every page that has rows; no row below the footer's area.
        for page in 1...pages { #expect(canvas.onPage(page).filter { $0 == "Where" }.count == 1) }
        let bottom = canvas.pageHeight - ReportLayout<RecordingCanvas>.margin - 24
        for text in canvas.texts where text.text.hasPrefix("row ") { #expect(text.y <= bottom) }
        // Rows stay in order across pages.
        let order = canvas.texts.filter { $0.text.hasPrefix("row ") }.map { Int($0.text.dropFirst(4))! }
        #expect(order == Array(0..<150))
        #expect(canvas.onPage(pages).contains { $0.hasSuffix("page \(pages)") })
    }

    @Test("an empty table says so; a cell too wide is cut with an ellipsis inside its column")
    func cells() throws {
        let canvas = RecordingCanvas()
        let long = String(repeating: "/v1/very/long/path", count: 20)
        try ReportLayout.draw(
            Self.report(sections: [
                .init(title: "Empty", blocks: [.table(Self.table(rows: 0))]),
                .init(title: "Long", blocks: [.table(Self.table(rows: 1, cell: long))]),
            ]), on: canvas)
        #expect(canvas.texts.contains { $0.text == "nothing" })
        let cut = try #require(canvas.texts.first { $0.text.hasPrefix("/v1/very") })
        #expect(cut.text.hasSuffix("…"))
        let columnWidth = (canvas.pageWidth - 2 * ReportLayout<RecordingCanvas>.margin) * 0.5
        #expect(canvas.textWidth(cut.text, size: cut.size, bold: false) <= columnWidth - 6)
    }

    @Test("a chart draws one line per series inside its box, and says when there is no data")
    func chart() throws {
        let canvas = RecordingCanvas()
        let start = Self.now - Self.day
        let chart = PeriodReport.Chart(
            title: "CPU and memory", unit: "%", startMs: start, endMs: Self.now,
            series: [
                .init(name: "CPU", points: (0..<48).map { (ms: start + Int64($0) * 1_800_000, value: Double($0)) }),
                .init(name: "Memory", points: [(ms: start, value: 50), (ms: Self.now, value: 60)]),
            ])
        let empty = PeriodReport.Chart(title: "API P95", unit: "ms", startMs: start, endMs: Self.now, series: [])
        try ReportLayout.draw(
            Self.report(sections: [.init(title: "Key series", blocks: [.chart(chart), .chart(empty)])]), on: canvas)
        #expect(canvas.lines.count == 2)
        #expect(canvas.lines.first?.count == 48)
        let left = ReportLayout<RecordingCanvas>.margin + ReportLayout<RecordingCanvas>.axisWidth
        let right = canvas.pageWidth - ReportLayout<RecordingCanvas>.margin
        for point in canvas.lines.flatMap({ $0 }) { #expect(point.x >= left && point.x <= right) }
        // 47 % is the highest value: the axis ends at 50.
        #expect(canvas.texts.contains { $0.text == "50" })
        #expect(canvas.texts.contains { $0.text == "no data in this period" })
        #expect(canvas.texts.contains { $0.text == "CPU and memory (%)" })
        #expect(ReportLayout<RecordingCanvas>.roundCeiling(905) == 1000)
        #expect(ReportLayout<RecordingCanvas>.roundCeiling(0) == 1)
    }

    static func endpoint(_ path: String, milliseconds: Double, requests: Int, errors: Int = 0) -> EndpointStats {
        var stats = EndpointStats(method: "GET", endpoint: path)
        for _ in 0..<requests { _ = stats.histogram.record(milliseconds / 1000) }
        stats.byStatus = ["200": Int64(requests - errors), "500": Int64(errors)]
        return stats
    }

    static func figures() -> ReportFigures {
        let previous = ReportFigures.Period(
            startMs: now - 2 * day, endMs: now - day,
            endpoints: [
                endpoint("/v1/search", milliseconds: 100, requests: 500),
                endpoint("/v1/memories", milliseconds: 20, requests: 500),
            ],
            cacheTypes: ["search_results": (hits: 90, misses: 10)],
            cpu: .init(mean: 30, max: 40, points: []), memory: .init(mean: 50, max: 52, points: []))
        let current = ReportFigures.Period(
            startMs: now - day, endMs: now,
            endpoints: [
                endpoint("/v1/search", milliseconds: 900, requests: 500),
                endpoint("/v1/memories", milliseconds: 20, requests: 500, errors: 25),
            ],
            cacheTypes: ["search_results": (hits: 60, misses: 40)],
            cpu: .init(mean: 31, max: 45, points: []), memory: .init(mean: 70, max: 75, points: []))
        let firing = AlertStore.Event(
            id: 1, timestampMs: now - 3_600_000,
            transition: .init(
                timestampMs: now - 3_600_000, rule: "APILatencyHigh", host: "web-1", severity: .critical,
                state: .firing, value: 0.9, threshold: 0.5, summary: "P95 above 500 ms", hint: ""))
        var resolved = firing
        resolved.id = 2
        resolved.timestampMs = now - 1_800_000
        resolved.transition.timestampMs = now - 1_800_000
        resolved.transition.state = .resolved
        var other = firing
        other.id = 3
        other.transition.rule = "HostMemoryHigh"
        other.transition.severity = .warning
        return ReportFigures(
            period: "24h", host: nil, generatedMs: now, current: current, previous: previous,
            alerts: AlertSpan.spans([resolved, other, firing]), anomalies: ["p95 above its baseline"], trends: [])
    }

    @Test("regressions: the endpoint's P95 and error rate, the cache type, memory; not what held")
    func regressions() {
        let figures = Self.figures()
        let found = Regression.find(current: figures.current, previous: figures.previous, scope: "all hosts")
        let kinds = found.map { "\($0.kind) \($0.subject)" }
        #expect(kinds.first == "Endpoint P95 GET /v1/search")
        #expect(
            Set(kinds) == [
                "Endpoint P95 GET /v1/search", "Error rate GET /v1/memories", "Cache hit rate search_results",
                "Memory all hosts",
            ])
        let p95 = found[0]
        #expect(p95.before > 90 && p95.before < 110)
        #expect(p95.after > 850 && p95.after < 950)
        #expect(found.first { $0.kind == "Cache hit rate" }?.changeText == "-30 pp (-33.3 %)")
    }

    @Test("alert spans: firing then resolved is one span with its duration; one still firing runs to the end")
    func alertSpans() {
        let figures = Self.figures()
        #expect(figures.alerts.count == 2)
        let latency = figures.alerts[0]
        #expect(latency.rule == "APILatencyHigh" && latency.resolvedMs == Self.now - 1_800_000)
        #expect(latency.durationSeconds(startMs: Self.now - Self.day, endMs: Self.now) == 1800)
        #expect(figures.alerts[1].rule == "HostMemoryHigh" && figures.alerts[1].resolvedMs == nil)
        #expect(figures.alerts[1].durationSeconds(startMs: Self.now - Self.day, endMs: Self.now) == 3600)
    }

    @Test("the report of the figures: cards, the regression's row with both figures, both alerts, anomalies")
    func reportOfFigures() throws {
        let report = PeriodReport(figures: Self.figures())
        #expect(report.cards.first { $0.title == "Alerts fired" }?.value == "2")
        #expect(report.cards.first { $0.title == "Alerts fired" }?.tone == .critical)
        guard case .table(let regressions)? = report.sections.first?.blocks.first else {
            Issue.record("the first section is not the regression table")
            return
        }
        let row = try #require(regressions.rows.first)
        #expect(row[0] == "Endpoint P95" && row[1] == "GET /v1/search")
        guard case .table(let alerts)? = report.sections[1].blocks.first else {
            Issue.record("the second section is not the alert table")
            return
        }
        #expect(alerts.rows.map { $0[0] } == ["APILatencyHigh", "HostMemoryHigh"])
        #expect(alerts.rows[0][5] == "30 min" && alerts.rows[1][4] == "still firing")
        let canvas = RecordingCanvas()
        try ReportLayout.draw(report, on: canvas)
        #expect(canvas.texts.contains { $0.text == "Anomaly: p95 above its baseline" })
    }

    @Test("cairo renders the report to a PDF of the layout's pages; a finished canvas refuses more")
    func pdf() throws {
        let report = Self.report(sections: [.init(title: "Regressions", blocks: [.table(Self.table(rows: 150))])])
        let (bytes, pages) = try ReportBuilder.render(report)
        #expect(bytes.starts(with: Array("%PDF-".utf8)))
        #expect(pages >= 3)
        let canvas = try PDFCanvas(title: "t")
        _ = try canvas.finish()
        #expect(throws: ReportError.self) { try canvas.text("x", x: 0, y: 0, size: 9, bold: false, colour: .text) }
    }
}
