import MonCore
import MonQueryKit

/// API panels: latency by endpoint (P50/P95/P99), traffic and errors, endpoint table, top errors.
extension DashboardPanels {
    static let noRequests =
        "No API requests in this period: the application reports them through StatsD (or its access log)."

    func ms(_ seconds: Double?) -> Double? { seconds.map { $0 * 1000 } }

    /// One small chart per endpoint, slowest P95 first (6 on the overview, 12 on the API page).
    mutating func latencyChart() async throws -> HTML {
        let endpoints = try await endpoints()
        let shown = endpoints.prefix(section == .advanced ? 6 : 12)
        let body: HTML
        if shown.isEmpty {
            body = "<div class=\"no-data\" role=\"note\">\(Self.noRequests)</div>"
        } else {
            let charts: [HTML] = shown.map { endpoint in
                let chart = LineChart(
                    title: "\(endpoint.method) \(endpoint.endpoint) latency",
                    series: [
                        .init(name: "P50", colour: 1, points: endpoint.points.map { ($0.startMs, ms($0.p50)) }),
                        .init(name: "P95", colour: 2, points: endpoint.points.map { ($0.startMs, ms($0.p95)) }),
                        .init(name: "P99", colour: 3, points: endpoint.points.map { ($0.startMs, ms($0.p99)) }),
                    ],
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.milliseconds($0) },
                    gapMs: gapMs
                ).sized(width: 420, height: 170)
                let rate = Double(endpoint.requests) / Double(range.periodSeconds)
                let errors =
                    endpoint.requests > 0 ? Double(endpoint.serverErrors) / Double(endpoint.requests) * 100 : nil
                return
                    "<figure class=\"chart\"><h3 title=\"\(endpoint.method) \(endpoint.endpoint)\">\(endpoint.method) \(endpoint.endpoint) <span class=\"meta\">· \(DashboardFormat.number(rate)) req/s · 5xx \(DashboardFormat.percent(errors))</span></h3>\(chart.render())</figure>"
            }
            body = "<div class=\"small-multiples\">\(charts)</div>"
        }
        let more: HTML =
            endpoints.count > shown.count
            ? "<a class=\"more\" href=\"\(link(.api))\">\(endpoints.count - shown.count) more endpoints →</a>" : .empty
        return DashboardView.panel(
            "chart-latency", "Latency by endpoint (P50 / P95 / P99), \(rangeView.label)", wide: true, tools: more, body)
    }

    /// Requests per second and 5xx rate over the period, all endpoints together.
    mutating func trafficChart() async throws -> HTML {
        let points = try await endpoints().flatMap(\.points)
        let byBucket = Dictionary(grouping: points, by: \.startMs)
        let buckets = byBucket.keys.sorted()
        let step = Double(range.stepSeconds)
        let requests = LineChart(
            title: "Requests per second",
            series: [
                .init(
                    name: "req/s", colour: 1,
                    points: buckets.map { ($0, Double(byBucket[$0]?.reduce(0) { $0 + $1.requests } ?? 0) / step) })
            ],
            startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.number($0) + "/s" }, gapMs: gapMs
        ).sized(width: 300, height: 160)
        let errors = LineChart(
            title: "5xx error rate",
            series: [
                .init(
                    name: "5xx", colour: 5,
                    points: buckets.map { bucket in
                        let items = byBucket[bucket] ?? []
                        let total = items.reduce(0) { $0 + $1.requests }
                        let failed = items.reduce(0) { $0 + $1.serverErrors }
                        return (bucket, total > 0 ? Double(failed) / Double(total) * 100 : nil)
                    })
            ],
            startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.percent($0) }, gapMs: gapMs
        ).sized(width: 300, height: 160)
        return DashboardView.panel(
            "chart-traffic", "Traffic and errors, \(rangeView.label)",
            "<div class=\"small-multiples two\"><figure class=\"chart\"><h3>Requests per second</h3>\(requests.render())</figure><figure class=\"chart\"><h3>5xx error rate</h3>\(errors.render())</figure></div>"
        )
    }

    /// The heatmap's bucket: the hour over a day or two, six hours up to eight days, else the
    /// day; under six hours, the charts' own step.
    static func heatmapStep(_ range: TimeRange) -> Int64 {
        switch range.periodSeconds {
        case ..<21_600: range.stepSeconds
        case ...172_800: 3_600
        case ...691_200: 21_600
        default: 86_400
        }
    }

    /// P95 per endpoint (rows, the 15 slowest of the period) and hour (columns).
    func latencyHeatmap() async throws -> HTML {
        var hourly = range
        hourly.stepSeconds = Self.heatmapStep(range)
        let stats = EndpointSort.p95.sorted(try await api.store.endpointStats(host: host, range: hourly)).prefix(15)
        let step = hourly.stepSeconds * 1000
        let first = hourly.startMs / step * step
        let columns = Array(stride(from: first, to: hourly.endMs, by: Int(step)))
        let rows = stats.map { endpoint in
            let byStart = Dictionary(endpoint.points.map { ($0.startMs, $0.p95) }) { $1 }
            return Heatmap.Row(
                label: "\(endpoint.method) \(endpoint.endpoint)", cells: columns.map { byStart[$0].flatMap(ms) })
        }
        let unit = DurationText.format(seconds: hourly.stepSeconds)
        let heatmap = Heatmap(
            title: "P95 latency per endpoint and \(unit), \(rangeView.label)", columns: columns,
            stepSeconds: hourly.stepSeconds, rows: Array(rows))
        return DashboardView.panel(
            "chart-heatmap", "P95 heatmap: endpoint × \(unit), \(rangeView.label)", wide: true,
            stats.isEmpty ? "<div class=\"no-data\" role=\"note\">\(Self.noRequests)</div>" : heatmap.render())
    }

    mutating func endpointTable() async throws -> HTML {
        // An example slow trace per endpoint (exemplar); the table shows without them if the read fails.
        let examples = (try? await api.store.slowTraces(host: host, range: range)) ?? [:]
        let rows: [[HTML]] = endpointSort.sorted(try await endpoints()).prefix(50).map { endpoint -> [HTML] in
            let total = Double(endpoint.requests)
            let example: HTML =
                examples[SlowTrace.key(method: endpoint.method, path: endpoint.endpoint)].map { slow -> HTML in
                    "<a class=\"trace-link\" href=\"/ui/monitoring/traces/\(slow.traceID)\" title=\"Slowest traced request of the period\">\(DashboardFormat.milliseconds(Double(slow.durationNs) / 1e6))</a>"
                } ?? "–"
            return [
                "<code>\(endpoint.endpoint)</code>", "\(endpoint.method)",
                "\(DashboardFormat.number(total / Double(range.periodSeconds)))",
                "\(DashboardFormat.milliseconds(ms(endpoint.histogram.quantile(0.5))))",
                "\(DashboardFormat.milliseconds(ms(endpoint.histogram.quantile(0.95))))",
                "\(DashboardFormat.milliseconds(ms(endpoint.histogram.quantile(0.99))))",
                "\(DashboardFormat.percent(total > 0 ? Double(endpoint.serverErrors) / total * 100 : nil))",
                "\(DashboardFormat.percent(total > 0 ? Double(endpoint.clientErrors) / total * 100 : nil))",
                example,
            ]
        }
        let order: [EndpointSort: String] = [
            .p95: "slowest P95 first", .errors: "most 5xx first", .rate: "most requests first",
        ]
        // The headers that order the table: req/s, P95 and 5xx.
        var links: [Int: DashboardView.SortLink] = [:]
        for (column, sort) in [(2, EndpointSort.rate), (4, .p95), (6, .errors)] {
            links[column] = .init(
                href: link(.api, extra: [("sort", sort == .p95 ? nil : sort.rawValue)]) + "#endpoints",
                active: sort == endpointSort)
        }
        return DashboardView.panel(
            "endpoints", "Endpoints, \(order[endpointSort] ?? "")",
            DashboardView.table(
                "Endpoints", headers: ["Endpoint", "Method", "req/s", "P50", "P95", "P99", "5xx", "4xx", "Slow trace"],
                numeric: [2, 3, 4, 5, 6, 7], rows: rows, sortLinks: links))
    }

    func topErrors() async throws -> HTML {
        let errors = ErrorSummary.byKind(try await api.store.topErrors(host: host, range: range, limit: 1000))
        let rows: [[HTML]] = errors.prefix(10).map { error in
            [
                "\(error.event)", "\(error.errorType ?? DashboardFormat.missing)",
                "\(error.endpoint ?? DashboardFormat.missing)", "\(DashboardFormat.count(Double(error.count)))",
                "\(DashboardFormat.clock(ms: error.lastMs, withDay: true))",
            ]
        }
        return DashboardView.panel(
            "top-errors", "Top errors, \(rangeView.label)",
            DashboardView.table(
                "Top errors", headers: ["Event", "Error type", "Endpoint", "Count", "Last seen"], numeric: [3],
                rows: rows))
    }
}
