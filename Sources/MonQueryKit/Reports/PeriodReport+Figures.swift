import MonCore

extension PeriodReport {
    /// How many regressions, endpoints and statements the report lists.
    static let regressionRows = 12
    static let slowestRows = 5

    /// The report of `figures`: cards, regressions, alerts, charts, the slowest endpoints and
    /// statements, anomalies and trend flags.
    public init(figures: ReportFigures) {
        let current = figures.current
        let previous = figures.previous
        let scope = figures.host ?? "all hosts"
        let regressions = Regression.find(current: current, previous: previous, scope: scope)
        let alertTable = Self.alertTable(figures)
        self.init(
            period: figures.period, startMs: current.startMs, endMs: current.endMs, host: figures.host,
            generatedMs: figures.generatedMs, cards: Self.cards(figures),
            sections: [
                Section(
                    title: "Top regressions vs the previous \(figures.period)",
                    blocks: [.table(Self.regressionTable(Array(regressions.prefix(Self.regressionRows))))]),
                Section(title: "Alerts fired", blocks: [.table(alertTable)]),
                Section(title: "Key series", blocks: Self.charts(figures).map { .chart($0) }),
                Section(title: "Slowest endpoints", blocks: [.table(Self.endpointTable(current, previous))]),
                Section(title: "Slowest statements", blocks: Self.statementBlocks(current)),
                Section(title: "Anomalies and trend flags", blocks: Self.anomalyBlocks(figures)),
            ])
    }

    static func cards(_ figures: ReportFigures) -> [Card] {
        let (current, previous) = (figures.current, figures.previous)
        let (now, before) = (current.totals, previous.totals)
        func p95(_ totals: EndpointStats.Totals) -> Double? { totals.histogram.quantile(0.95).map { $0 * 1000 } }
        func errors(_ totals: EndpointStats.Totals) -> Double? {
            totals.requests > 0 ? Double(totals.serverErrors) / Double(totals.requests) * 100 : nil
        }
        func detail(_ text: String, _ after: Double?, _ earlier: Double?) -> String {
            let change = Comparison.changePercent(after, from: earlier)
            return "previous \(text)" + (change.map { " (\($0 >= 0 ? "+" : "")\(DashboardFormat.number($0)) %)" } ?? "")
        }
        func tone(_ after: Double?, _ earlier: Double?, lowerIsWorse: Bool = false) -> Tone {
            guard let change = Comparison.changePercent(after, from: earlier) else { return .neutral }
            let worse = lowerIsWorse ? -change : change
            return worse >= 50 ? .critical : worse >= Regression.minimumWorsePercent ? .warning : .neutral
        }
        let fired = figures.alerts.filter { $0.firedMs != nil }
        let critical = figures.alerts.filter { $0.severity == "critical" }.count
        let stillFiring = figures.alerts.filter { $0.resolvedMs == nil }.count
        return [
            Card(
                title: "Requests", value: DashboardFormat.count(Double(now.requests)),
                detail: detail(
                    DashboardFormat.count(Double(before.requests)), Double(now.requests), Double(before.requests))),
            Card(
                title: "API P95", value: DashboardFormat.milliseconds(p95(now)),
                detail: detail(DashboardFormat.milliseconds(p95(before)), p95(now), p95(before)),
                tone: tone(p95(now), p95(before))),
            Card(
                title: "Error rate (5xx)", value: DashboardFormat.percent(errors(now)),
                detail: "previous \(DashboardFormat.percent(errors(before)))",
                tone: (errors(now) ?? 0) - (errors(before) ?? 0) >= Regression.minimumPoints ? .warning : .neutral),
            Card(
                title: "Cache hit rate", value: DashboardFormat.percent(current.cacheHitRate),
                detail: "previous \(DashboardFormat.percent(previous.cacheHitRate))",
                tone: tone(current.cacheHitRate, previous.cacheHitRate, lowerIsWorse: true)),
            Card(
                title: "CPU (mean)", value: DashboardFormat.percent(current.cpu.mean),
                detail:
                    "max \(DashboardFormat.percent(current.cpu.max)), previous \(DashboardFormat.percent(previous.cpu.mean))",
                tone: tone(current.cpu.mean, previous.cpu.mean)),
            Card(
                title: "Memory (mean)", value: DashboardFormat.percent(current.memory.mean),
                detail:
                    "max \(DashboardFormat.percent(current.memory.max)), previous \(DashboardFormat.percent(previous.memory.mean))",
                tone: tone(current.memory.mean, previous.memory.mean)),
            Card(
                title: "Slow statements", value: DashboardFormat.count(current.slowStatements),
                detail: "previous \(DashboardFormat.count(previous.slowStatements))",
                tone: tone(current.slowStatements, previous.slowStatements)),
            Card(
                title: "Alerts fired", value: "\(fired.count)",
                detail: "\(critical) critical, \(stillFiring) still firing",
                tone: critical > 0 ? .critical : fired.isEmpty ? .good : .warning),
        ]
    }

    static func regressionTable(_ regressions: [Regression]) -> Table {
        Table(
            columns: [
                Column("What", width: 0.16), Column("Where", width: 0.40),
                Column("Before", width: 0.13, alignRight: true),
                Column("After", width: 0.13, alignRight: true), Column("Change", width: 0.18, alignRight: true),
            ],
            rows: regressions.map { [$0.kind, $0.subject, $0.text($0.before), $0.text($0.after), $0.changeText] },
            empty:
                "Nothing got at least \(DashboardFormat.number(Regression.minimumWorsePercent)) % worse than in the previous period."
        )
    }

    static func alertTable(_ figures: ReportFigures) -> Table {
        let (startMs, endMs) = (figures.current.startMs, figures.current.endMs)
        return Table(
            columns: [
                Column("Alert", width: 0.2), Column("Host", width: 0.12), Column("Severity", width: 0.09),
                Column("Fired", width: 0.14), Column("Resolved", width: 0.14), Column("Duration", width: 0.1),
                Column("Summary", width: 0.21),
            ],
            rows: figures.alerts.map { span in
                [
                    span.rule, span.host, span.severity, span.firedMs.map { Self.time($0) } ?? "before the period",
                    span.resolvedMs.map { Self.time($0) } ?? "still firing",
                    DashboardFormat.duration(seconds: span.durationSeconds(startMs: startMs, endMs: endMs)),
                    ReportText.oneLine(span.summary),
                ]
            },
            empty: "No alert fired in this period.")
    }

    static func charts(_ figures: ReportFigures) -> [Chart] {
        let (current, previous) = (figures.current, figures.previous)
        let shift = current.startMs - previous.startMs
        func p95Points(_ stats: EndpointStats?, shiftedBy: Int64) -> [(ms: Int64, value: Double)] {
            (stats?.points ?? []).compactMap { point in
                point.p95.map { (ms: point.startMs + shiftedBy, value: $0 * 1000) }
            }
        }
        return [
            Chart(
                title: "CPU and memory, highest host", unit: "%", startMs: current.startMs, endMs: current.endMs,
                series: [
                    .init(name: "CPU", points: current.cpu.points),
                    .init(name: "Memory", points: current.memory.points),
                ]),
            Chart(
                title: "API latency P95, every endpoint", unit: "ms", startMs: current.startMs, endMs: current.endMs,
                series: [
                    .init(name: "this period", points: p95Points(current.requests, shiftedBy: 0)),
                    .init(name: "previous period (shifted)", points: p95Points(previous.requests, shiftedBy: shift)),
                ]),
        ]
    }

    static func endpointTable(_ current: ReportFigures.Period, _ previous: ReportFigures.Period) -> Table {
        let earlier = Dictionary(
            previous.endpoints.map { ($0.method + " " + $0.endpoint, $0) }, uniquingKeysWith: { $1 })
        let slowest = current.endpoints.filter { $0.requests > 0 }.sorted {
            ($0.histogram.quantile(0.95) ?? 0) > ($1.histogram.quantile(0.95) ?? 0)
        }.prefix(slowestRows)
        return Table(
            columns: [
                Column("Endpoint", width: 0.36), Column("Requests", width: 0.11, alignRight: true),
                Column("P50", width: 0.11, alignRight: true), Column("P95", width: 0.11, alignRight: true),
                Column("5xx", width: 0.1, alignRight: true), Column("P95 before", width: 0.13, alignRight: true),
                Column("Source", width: 0.08),
            ],
            rows: slowest.map { endpoint in
                let before = earlier[endpoint.method + " " + endpoint.endpoint]
                return [
                    endpoint.method.isEmpty ? endpoint.endpoint : endpoint.method + " " + endpoint.endpoint,
                    DashboardFormat.count(Double(endpoint.requests)),
                    DashboardFormat.milliseconds(endpoint.histogram.quantile(0.5).map { $0 * 1000 }),
                    DashboardFormat.milliseconds(endpoint.histogram.quantile(0.95).map { $0 * 1000 }),
                    DashboardFormat.percent(Double(endpoint.serverErrors) / Double(endpoint.requests) * 100),
                    DashboardFormat.milliseconds(before?.histogram.quantile(0.95).map { $0 * 1000 }),
                    endpoint.source ?? "",
                ]
            },
            empty: "No request statistics in this period.")
    }

    static func statementBlocks(_ current: ReportFigures.Period) -> [Block] {
        let slowest = Array(current.statements.prefix(slowestRows))
        let table = Table(
            columns: [
                Column("#", width: 0.04), Column("Statement", width: 0.48), Column("Host", width: 0.12),
                Column("Calls", width: 0.1, alignRight: true), Column("Mean", width: 0.12, alignRight: true),
                Column("Total", width: 0.14, alignRight: true),
            ],
            rows: slowest.enumerated().map { index, statement in
                [
                    "\(index + 1)", ReportText.statement(statement), statement.host,
                    DashboardFormat.count(statement.calls),
                    DashboardFormat.milliseconds(statement.calls > 0 ? statement.totalMs / statement.calls : nil),
                    DashboardFormat.milliseconds(statement.totalMs),
                ]
            },
            empty: "No statement statistics in this period.")
        var blocks: [Block] = [.table(table)]
        for (index, statement) in slowest.enumerated() {
            for hint in ReportText.planHints(statement) { blocks.append(.paragraph("#\(index + 1) \(hint)")) }
        }
        return blocks
    }

    static func anomalyBlocks(_ figures: ReportFigures) -> [Block] {
        guard let anomalies = figures.anomalies, let trends = figures.trends else {
            return [.paragraph("Anomaly detection is off (anomalies.enabled: false).")]
        }
        var blocks: [Block] = [
            .paragraph(
                "Judged at the end of the period: \(anomalies.count) anomal\(anomalies.count == 1 ? "y" : "ies"), "
                    + "\(trends.count) trend flag\(trends.count == 1 ? "" : "s").")
        ]
        blocks += anomalies.map { .paragraph("Anomaly: " + $0) }
        blocks += trends.map { .paragraph("Trend: " + $0) }
        return blocks
    }
}
