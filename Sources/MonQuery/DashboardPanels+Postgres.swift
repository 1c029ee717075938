import MonCore
import MonQueryKit

/// The PostgreSQL page's slow-statement timeline and the application's connection pool, from
/// `/postgres/slow_queries/timeline`'s and `/postgres/pool`'s functions.
extension DashboardPanels {
    /// Calls and mean time per bucket of the five statements with the most execution time.
    func postgresTimeline() async throws -> HTML {
        var bucketed = range
        bucketed.stepSeconds = StatementTimeline.defaultStepSeconds(range)
        let statements = try await api.slowQueryTimeline(range: bucketed, host: host, limit: 5)
        let unit = DurationText.format(seconds: bucketed.stepSeconds)
        guard !statements.isEmpty else {
            return DashboardView.panel(
                "postgres-timeline", "Slow statements over time, \(rangeView.label)",
                "<div class=\"no-data\" role=\"note\">No statement in this period (is pg_stat_statements installed on the monitored database?)</div>"
            )
        }
        var calls: [LineChart.Series] = []
        var means: [LineChart.Series] = []
        var legend: [[HTML]] = []
        for (index, entry) in statements.enumerated() {
            // Full texts: the dashboard is admin-only.
            let query = entry.query(fullText: true) ?? "queryid \(entry.statement.queryid)"
            let name = "#\(index + 1) " + (query.count > 40 ? String(query.prefix(39)) + "…" : query)
            calls.append(.init(name: name, colour: index + 1, points: entry.buckets.map { ($0.startMs, $0.calls) }))
            means.append(.init(name: name, colour: index + 1, points: entry.buckets.map { ($0.startMs, $0.meanMs) }))
            let summary = entry.statement
            legend.append([
                "\(index + 1)",
                "<span class=\"query\">\(query.count > 140 ? String(query.prefix(139)) + "…" : query)</span>",
                "\(DashboardFormat.count(summary.calls))",
                "\(DashboardFormat.milliseconds(summary.calls > 0 ? summary.totalMs / summary.calls : nil))",
            ])
        }
        let step = bucketed.stepSeconds * 1000
        let charts: [(String, LineChart)] = [
            (
                "Calls per \(unit)",
                LineChart(
                    title: "Calls per \(unit) of the slowest statements", series: calls, startMs: range.startMs,
                    endMs: range.endMs, format: { DashboardFormat.count($0) }, gapMs: step * 2)
            ),
            (
                "Mean time per \(unit)",
                LineChart(
                    title: "Mean execution time per \(unit) of the slowest statements", series: means,
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.milliseconds($0) },
                    gapMs: step * 2)
            ),
        ]
        let figures: [HTML] = charts.map {
            "<figure class=\"chart statement-timeline\"><h3>\($0.0)</h3>\($0.1.sized(width: 420, height: 190).render())</figure>"
        }
        return DashboardView.panel(
            "postgres-timeline", "Slow statements over time (per \(unit)), \(rangeView.label)", wide: true,
            "<div class=\"small-multiples two\">\(figures)</div>"
                + DashboardView.table(
                    "Statements of the timeline", headers: ["#", "Query", "Calls", "Mean"], numeric: [0, 2, 3],
                    rows: legend))
    }

    /// The application's pools: checked out of size (and overflow) with a usage bar, and a chart.
    func postgresPool() async throws -> HTML {
        let pools = try await api.appPools(range: range, host: host)
        guard !pools.isEmpty else {
            return DashboardView.panel(
                "postgres-pool", "Application connection pool, \(rangeView.label)",
                "<div class=\"no-data\" role=\"note\">No pool gauges in this period: the application sends \(AppPool.gauges.size), \(AppPool.gauges.checkedOut) and \(AppPool.gauges.overflow) over StatsD (README, “Application connection pool”).</div>"
            )
        }
        let several = Set(pools.map(\.host)).count > 1
        var bars: [BarChart.Bar] = []
        var lines: [HTML] = []
        var problems: [HTML] = []
        var series: [LineChart.Series] = []
        for (index, pool) in pools.prefix(6).enumerated() {
            let name = several ? "\(pool.host) \(pool.name)" : pool.name
            let latest = pool.latest
            let overflow: HTML =
                latest.overflow.map { " (overflow \(DashboardFormat.count($0)))" as HTML } ?? .empty
            lines.append(
                "<p class=\"pool-figures\">Pool \(name): checked out <b>\(DashboardFormat.count(latest.checkedOut))</b> / size <b>\(DashboardFormat.count(latest.size))</b>\(overflow)</p>"
            )
            if let usage = latest.usagePercent {
                bars.append(
                    .init(
                        label: name, value: min(usage, 100), text: DashboardFormat.percent(usage),
                        status: .above(usage, Thresholds.postgresConnectionsPercent)))
            }
            problems += latest.problems.map { "<li>\(Status.warning.badge) \(name): \($0)</li>" as HTML }
            let colour = index * 2 % 6 + 1
            series.append(
                .init(name: "checked out \(name)", colour: colour, points: pool.points.map { ($0.ms, $0.checkedOut) }))
            series.append(.init(name: "size \(name)", colour: colour + 1, points: pool.points.map { ($0.ms, $0.size) }))
        }
        let usage: HTML =
            bars.isEmpty
            ? "<p class=\"quiet\">Usage unknown: no valid size and checked-out figures.</p>"
            : "<figure class=\"chart pool-usage\">\(BarChart(title: "Pool usage (checked out of size)", bars: bars, maximum: 100).render())</figure>"
        let chart = LineChart(
            title: "Pool connections checked out and size", series: series, startMs: range.startMs,
            endMs: range.endMs, format: { DashboardFormat.count($0) }, gapMs: gapMs
        ).sized(width: 420, height: 170)
        let problemList: HTML = problems.isEmpty ? .empty : "<ul class=\"alerts plain\">\(problems)</ul>"
        return DashboardView.panel(
            "postgres-pool", "Application connection pool, \(rangeView.label)",
            "\(lines)\(usage)\(problemList)<figure class=\"chart\"><h3>Checked out and size</h3>\(chart.render())</figure>"
        )
    }
}
