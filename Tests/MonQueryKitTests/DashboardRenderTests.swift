import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct HTMLEscapingTests {
    static let hostile: [String] = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "</textarea></title></svg><svg onload=alert(1)>",
        "<![CDATA[ ]]> <!-- -->",
        "&lt;already escaped&gt; & &amp;",
        "javascript:alert(1)",
        "a\u{0}b\u{1}c\u{7F}d\u{85}e",
        "SELECT * FROM t WHERE name = '<b>' AND x > 1",
        "{{constructor.constructor('alert(1)')()}}",
    ]

    @Test("hostile text is inert in element content and in quoted attributes", arguments: hostile)
    func hostileTextIsInert(text: String) {
        let escaped = HTML.escape(text)
        for character in ["<", ">", "\"", "'"] { #expect(!escaped.contains(character), "\(escaped)") }
        // Every & starts a character reference the escaper wrote.
        var rest = Substring(escaped)
        while let ampersand = rest.firstIndex(of: "&") {
            let tail = rest[ampersand...]
            #expect(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].contains { tail.hasPrefix($0) }, "\(escaped)")
            rest = rest[rest.index(after: ampersand)...]
        }
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" })
    }

    @Test func exactEscapes() {
        #expect(
            HTML.escape(#"<a href="x">Tom & 'Jerry'</a>"#)
                == "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        #expect(HTML.escape("plain text, ünïcode ✓ 日本") == "plain text, ünïcode ✓ 日本")
        #expect(HTML.escape("tab\tline\nreturn\r") == "tab\tline\nreturn\r")
        #expect(HTML.escape("nul\u{0}bell\u{7}") == "nul\u{FFFD}bell\u{FFFD}")
        #expect(HTML.escape("") == "")
    }

    @Test func interpolationEscapesStringsAndKeepsMarkup() {
        let label = "<b>bold</b>"
        let inner: HTML = "<i>\(label)</i>"
        let outer: HTML = "<p title=\"\(label)\">\(inner) \(3) \(2.5)</p>"
        #expect(inner.text == "<i>&lt;b&gt;bold&lt;/b&gt;</i>")
        #expect(outer.text == "<p title=\"&lt;b&gt;bold&lt;/b&gt;\"><i>&lt;b&gt;bold&lt;/b&gt;</i> 3 2.5</p>")
    }

    @Test func queryStringsArePercentEncoded() {
        #expect(
            HTML.query([("q", "a b&c=d/é"), ("host", nil), ("period", "1h")]) == "?q=a%20b%26c%3Dd%2F%C3%A9&period=1h")
        #expect(HTML.query([("host", nil)]) == "")
        // In an attribute the & is escaped as well.
        let link: HTML = "<a href=\"/ui\(HTML.query([("a", "1"), ("b", "\"><x")]))\">"
        #expect(link.text == "<a href=\"/ui?a=1&amp;b=%22%3E%3Cx\">")
    }
}

@Suite struct DashboardFormatTests {
    @Test func numbers() {
        #expect(DashboardFormat.fixed(1234.567, 1) == "1234.6")
        #expect(DashboardFormat.fixed(-0.04, 1) == "0.0")
        #expect(DashboardFormat.fixed(-2.25, 1) == "-2.3")
        #expect(DashboardFormat.fixed(nil) == "–")
        #expect(DashboardFormat.fixed(.nan) == "–")
        #expect(DashboardFormat.number(45) == "45")
        #expect(DashboardFormat.number(0.4251) == "0.43")
        #expect(DashboardFormat.number(12.34) == "12.3")
        #expect(DashboardFormat.number(1234.5) == "1235")
        #expect(DashboardFormat.percent(87) == "87 %")
        #expect(DashboardFormat.percent(98.54) == "98.5 %")
        #expect(DashboardFormat.milliseconds(45.2) == "45.2 ms")
        #expect(DashboardFormat.milliseconds(1250) == "1.25 s")
        #expect(DashboardFormat.bytes(245 * 1_048_576) == "245 MiB")
        #expect(DashboardFormat.bytes(2 * 1_073_741_824) == "2 GiB")
        #expect(DashboardFormat.count(15_300) == "15.3k")
        #expect(DashboardFormat.coordinate(12.0) == "12")
        #expect(DashboardFormat.coordinate(12.345) == "12.35")
        #expect(DashboardFormat.coordinate(1e-9) == "0")
        #expect(DashboardFormat.clock(ms: 1_764_439_512_000, seconds: true) == "18:05:12")
        #expect(DashboardFormat.clock(ms: 1_764_439_512_000, withDay: true) == "29 18:05")
    }
}

@Suite struct LineChartTests {
    static func chart(_ points: [(ms: Int64, value: Double?)], gapMs: Int64? = nil) -> LineChart {
        var chart = LineChart(
            title: "Latency", series: [.init(name: "P95", colour: 2, points: points)], startMs: 0, endMs: 1000,
            format: { DashboardFormat.milliseconds($0) }, gapMs: gapMs)
        chart.width = 152  // plot area 52...144 wide (92 px), 8...178 high
        chart.height = 200
        return chart
    }

    @Test("known points give a known path: x by time, y from a nice 0…top scale")
    func pathOfKnownPoints() {
        let chart = Self.chart([(0, 0), (500, 50), (1000, 100)])
        #expect(chart.scale.top == 100 && chart.scale.step == 25)
        // x: 52 + ms/1000 * 92; y: 178 - value/100 * 170.
        #expect(chart.path(chart.series[0].points) == "M52 178 L98 93 L144 8")
        let html = chart.render().text
        #expect(html.hasPrefix("<svg class=\"chart-svg\" viewBox=\"0 0 152 200\" role=\"img\""))
        #expect(html.contains("<path class=\"line line-2\" d=\"M52 178 L98 93 L144 8\">"))
        #expect(html.contains(">100 ms</text>") && html.contains(">0 ms</text>"), "value axis labels with unit")
        #expect(html.contains("<li><span class=\"swatch sw-2\" aria-hidden=\"true\"></span>P95 <b>100 ms</b></li>"))
        #expect(html.contains("aria-label=\"Latency: latest P95 100 ms\""))
        #expect(html.components(separatedBy: "<svg").count == 2 && html.contains("</svg>"))
    }

    @Test("a missing value or a long gap starts a new line; a lone point is a dot")
    func gaps() {
        let chart = Self.chart([(0, 10), (100, nil), (200, 20), (300, 30), (900, 40)], gapMs: 250)
        let path = chart.path(chart.series[0].points)
        #expect(path.hasPrefix("M52 ") && path.split(separator: "M").count == 3, "\(path)")
        #expect(path.components(separatedBy: "h0").count == 3, "two lone points drawn as dots: \(path)")
        #expect(!path.contains("nan") && !path.contains("inf"))
    }

    @Test(
        "no data gives an explicit text, never an empty or broken SVG",
        arguments: [[], [(Int64(5), nil)], [(Int64(5), Double.nan)]] as [[(ms: Int64, value: Double?)]])
    func noData(points: [(ms: Int64, value: Double?)]) {
        let html = Self.chart(points).render().text
        #expect(!html.contains("<svg"))
        #expect(html.contains("No data for this period") && html.contains("role=\"img\""))
        let none = LineChart(title: "x", series: [], startMs: 0, endMs: 10, format: { "\($0)" }).render().text
        #expect(none.contains("No data"))
    }

    @Test func flatZeroAndPercentScales() {
        let zero = Self.chart([(0, 0), (1000, 0)])
        #expect(zero.scale.top > 0 && zero.path(zero.series[0].points) == "M52 178 L144 178")
        var percent = Self.chart([(0, 12), (1000, 40)])
        percent.minimumTop = 100
        #expect(percent.scale.top == 100)
        #expect(LineChart.niceStep(0.3) == 0.5 && LineChart.niceStep(23) == 25 && LineChart.niceStep(7000) == 10000)
    }

    @Test func hostileSeriesNamesAreEscaped() {
        var chart = Self.chart([(0, 1), (1000, 2)])
        chart.title = "</title><script>x</script>"
        chart.series[0].name = "\"><svg onload=alert(1)>"
        let html = chart.render().text
        #expect(!html.contains("<script>") && !html.contains("<svg onload"))
    }
}

@Suite struct GaugeAndBarTests {
    @Test("the arc ends where the value is: 0 left, 50 top, 100 right")
    func arcEnds() {
        #expect(Gauge.arc(0.5) == "M20 100 A80 80 0 0 1 100 20")
        #expect(Gauge.arc(1) == "M20 100 A80 80 0 0 1 180 100")
        #expect(Gauge.arc(1.7) == Gauge.arc(1), "clamped")
        let html = Gauge(title: "Hit rate", percent: 87, status: .ok).render().text
        #expect(html.contains("class=\"gauge-value st-ok\""))
        #expect(html.contains(">87 %</text>") && html.contains(">OK</text>"), "value and text state, not only colour")
        #expect(html.contains("aria-label=\"Hit rate: 87 %, OK\""))
    }

    @Test func gaugeWithoutValueSaysNoData() {
        let html = Gauge(title: "Hit rate", percent: nil, status: .noData).render().text
        #expect(html.contains(">No data</text>") && !html.contains("gauge-value") && html.hasSuffix("</svg>"))
    }

    @Test func bars() {
        let chart = BarChart(
            title: "Tables",
            bars: [
                .init(label: "public.big", value: 200, text: "200 B"), .init(label: "<evil>", value: 50, text: "50 B"),
            ])
        let html = chart.render().text
        #expect(html.contains("width=\"352\"") && html.contains("width=\"88\""), "longest bar fills the span: \(html)")
        #expect(html.contains("&lt;evil&gt;") && !html.contains("<evil>"))
        #expect(BarChart(title: "Tables", bars: []).render().text.contains("No data"))
    }
}

@Suite struct DashboardViewTests {
    @Test func statusHasTextBesideColour() {
        for status in Status.allCases {
            let badge = status.badge.text
            #expect(badge.contains(status.label) && badge.contains(status.cssClass))
        }
        #expect(Status.below(65, warning: 80, critical: 70) == .critical)
        #expect(Status.above(75, warning: 80, critical: 90) == .ok)
        #expect(Status.above(nil, warning: 80, critical: 90) == .noData)
    }

    @Test func cardIsOneFragmentWithItsStateInWords() {
        let card = DashboardView.Card(
            fragment: "card-redis", title: "Redis", status: .critical, reasons: ["hit rate 65 % (< 70 %)"],
            headline: ("65 %", "hit rate"), figures: [("Memory", "245 MiB / 2 GiB")],
            link: "/ui/monitoring/redis?a=1&b=2")
        let html = DashboardView.card(card).text
        #expect(html.hasPrefix("<section class=\"card st-crit\" id=\"card-redis\" data-fragment=\"card-redis\""))
        #expect(html.hasSuffix("</section>"))
        #expect(html.contains("Critical") && html.contains("hit rate 65 % (&lt; 70 %)"))
        #expect(html.contains("href=\"/ui/monitoring/redis?a=1&amp;b=2\""))
    }

    @Test func alertsListSummaryAndHint() {
        let alert = DashboardView.Alert(
            rule: "RedisHitRateLow", host: "<h1>", severity: "warning", state: "firing", since: "29 18:05",
            summary: "Redis hit rate 60 % on h1 (< 70 %): cache ineffective", hint: "Check key TTLs.")
        let html = DashboardView.alerts([alert]).text
        #expect(
            html.contains("id=\"alerts\"") && html.contains("cache ineffective")
                && html.contains("Hint: Check key TTLs."))
        #expect(html.contains("&lt;h1&gt;") && html.contains("Warning"))
        #expect(DashboardView.alerts([]).text.contains("No active alert"))
        #expect(DashboardView.alerts(nil, note: "Alerting is off.").text.contains("Alerting is off."))
    }

    @Test func logRowEscapesTheRecord() {
        let record = LogRecord(
            timestampMs: 1_764_439_512_000, level: .error, service: "<svc>", event: "boom</td><script>",
            fields: #"{"path":"/x?<y>","n":3}"#)
        let html = DashboardView.logRow(StoredLog(id: 7, host: "h", record: record)) { name, value in
            "/ui/monitoring/logs?\(name)=\(HTML.percentEncode(value))"
        }.text
        #expect(html.contains("data-id=\"7\"") && html.contains("18:05:12") && html.contains("ERROR"))
        #expect(!html.contains("<script>") && html.contains("&lt;svc&gt;") && html.contains("path=/x?&lt;y&gt; n=3"))
        // Level, service and host filter on a click; the service's name escaped in the link too.
        #expect(html.contains("<a class=\"filter-link\" href=\"/ui/monitoring/logs?service=%3Csvc%3E\""))
        #expect(html.contains("href=\"/ui/monitoring/logs?level=error\" title=\"Only error and above\""))
        #expect(html.contains("class=\"log-expand\" aria-expanded=\"false\""))
        // No trace id: no trace link nor copy button.
        #expect(!html.contains("copy-trace") && !html.contains("trace-link"))
    }

    @Test func logRowWithATraceHasItsLinkAndCopyButton() {
        let record = LogRecord(
            timestampMs: 0, level: .info, service: "api", event: "e",
            traceID: "4BF92F3577B34DA6A3CE929D0E0E4736", fields: "{}")
        let html = DashboardView.logRow(StoredLog(id: 1, host: "h", record: record)) { _, _ in "/x" }.text
        #expect(html.contains("href=\"/ui/monitoring/traces/4bf92f3577b34da6a3ce929d0e0e4736\""))
        #expect(html.contains("class=\"copy-trace\" data-trace=\"4bf92f3577b34da6a3ce929d0e0e4736\""))
        // A malformed id (not 32 hex digits) gets neither.
        var bad = record
        bad.traceID = "4bf92f35\"><script>"
        let badHTML = DashboardView.logRow(StoredLog(id: 1, host: "h", record: bad)) { _, _ in "/x" }.text
        #expect(!badHTML.contains("copy-trace") && !badHTML.contains("<script>"))
    }

    @Test func emptyTableSaysNoData() {
        #expect(DashboardView.table("Slow queries", headers: ["a"], rows: []).text.contains("no data"))
    }

    @Test func pageHasLandmarksAndNoInlineScript() {
        let page = DashboardPage(
            section: .redis, period: "6h", host: "db\"1", healthBadge: "<a id=\"health-badge\">ok</a>",
            authenticationEnabled: false, generatedMs: 0, body: "<p>body</p>"
        ).render().text
        #expect(page.hasPrefix("<!doctype html>") && page.contains("<html lang=\"en\">"))
        #expect(page.contains("<main id=\"main\">") && page.contains("<nav aria-label=\"Sections\">"))
        #expect(page.contains("aria-current=\"page\">Redis</a>"))
        #expect(page.contains("<option value=\"6h\" selected>"))
        #expect(page.contains("value=\"db&quot;1\""))
        #expect(page.contains("Authentication is off"))
        #expect(!page.contains("<script>") && page.contains("<script src=\"/ui/assets/dashboard.js\" defer></script>"))
        let login = DashboardPage.login(next: "/ui/monitoring/api?x=\"", message: "bad <token>").text
        #expect(login.contains("type=\"password\"") && login.contains("&lt;token&gt;") && login.contains("x=&quot;"))
    }

    @Test func planText() throws {
        let plan = try JSONParser.parse(
            #"[{"Plan": {"Node Type": "Hash Join", "Plan Rows": 120, "Hash Cond": "(a.id = b.a_id)", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Alias": "a", "Filter": "(total > 10)", "Plan Rows": 50000}, {"Node Type": "Index Scan", "Index Name": "b_pkey", "Relation Name": "b", "Alias": "b", "Index Cond": "(id = 1)"}]}}]"#
        )
        #expect(
            PlanText.render(plan) == """
                Hash Join  (rows≈120)
                  Hash Cond: (a.id = b.a_id)
                  -> Seq Scan on public.orders a  (rows≈50k)
                       Filter: (total > 10)
                  -> Index Scan using b_pkey on b
                       Index Cond: (id = 1)
                """)
        #expect(PlanText.render(.string("nope")) == "")
    }
}

@Suite struct UISessionStoreTests {
    @Test("a session id is 256 random bits in hex, valid until its expiry, gone after logout")
    func lifecycle() {
        let store = UISessionStore(lifetimeSeconds: 60)
        let id = store.create(tokenName: "ops", nowMs: 1000)
        #expect(id.count == 64 && id.allSatisfy(\.isHexDigit))
        #expect(store.create(tokenName: "ops", nowMs: 1000) != id)
        #expect(store.session(id, nowMs: 2000)?.tokenName == "ops")
        #expect(store.session(id, nowMs: 61_000) == nil, "expired")
        let other = store.create(tokenName: "ops", nowMs: 1000)
        store.remove(other)
        #expect(store.session(other, nowMs: 2000) == nil, "logged out")
    }

    @Test(
        "malformed or unknown cookie values are refused",
        arguments: ["", "x", String(repeating: "g", count: 64), String(repeating: "a", count: 64), "' OR 1=1 --"])
    func refused(value: String) {
        let store = UISessionStore(lifetimeSeconds: 60)
        _ = store.create(tokenName: "ops", nowMs: 0)
        #expect(store.session(value, nowMs: 1) == nil)
    }

    @Test func boundedAndOldestFirst() {
        let store = UISessionStore(lifetimeSeconds: 3600)
        let first = store.create(tokenName: "a", nowMs: 0)
        for index in 1...UISessionStore.maximumSessions { _ = store.create(tokenName: "b", nowMs: Int64(index)) }
        #expect(store.count == UISessionStore.maximumSessions)
        #expect(store.session(first, nowMs: 5000) == nil)
    }
}
