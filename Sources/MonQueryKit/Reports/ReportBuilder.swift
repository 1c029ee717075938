import Logging
import MonCore

/// Reads a report's figures from the daemon's database: `[now - period, now]` and the
/// previous period of the same length, through the API's own reads (`QueryStore`'s request
/// histograms, counter increases, series and slow statements; `AlertStore`'s transitions) and
/// one evaluation of the anomaly monitor at `now`.
public struct ReportBuilder: Sendable {
    let store: QueryStore
    let alerts: AlertStore
    let anomalies: AnomalySettings
    let logger: Logger

    /// The periods a report covers, in seconds.
    public static let periods: [(name: String, seconds: Int64)] = [("24h", 86_400), ("7d", 604_800)]
    /// The statements read per period (the regressions match them across the two).
    static let statementLimit = 50

    public init(databaseURL: String, password: String?, anomalies: AnomalySettings, logger: Logger) {
        store = QueryStore(databaseURL: databaseURL, password: password, name: "pg-report")
        alerts = AlertStore(databaseURL: databaseURL, password: password)
        self.anomalies = anomalies
        self.logger = logger
    }

    /// The length of `period` (`24h` or `7d`); a `ReportError` naming it otherwise.
    public static func seconds(of period: String) throws -> Int64 {
        guard let match = periods.first(where: { $0.name == period }) else {
            throw ReportError(
                "period", "period '\(period.prefix(40))' is not one of \(periods.map(\.name).joined(separator: ", "))")
        }
        return match.seconds
    }

    /// The chart's step: 48 points a day, 84 a week.
    static func step(seconds: Int64) -> String { seconds <= 86_400 ? "30m" : "2h" }

    /// The figures of the period ending at `nowMs` and of the one before it.
    public func figures(period: String, host: String?, nowMs: Int64) async throws -> ReportFigures {
        let seconds = try Self.seconds(of: period)
        let step = Self.step(seconds: seconds)
        let range = try TimeRange(period: period, step: step, nowMs: nowMs)
        let earlier = try TimeRange(period: period, step: step, nowMs: nowMs - seconds * 1000)
        let current = try await periodFigures(range, host: host)
        let previous = try await periodFigures(earlier, host: host)
        let events = try await alerts.events(
            state: nil, host: host, sinceMs: range.startMs, untilMs: range.endMs, limit: 1000)
        var anomalyLines: [String]?
        var trendLines: [String]?
        if anomalies.enabled {
            let monitor = AnomalyMonitor(settings: anomalies, store: store, logger: logger)
            var report = await monitor.evaluate(nowMs: nowMs)
            report.findings = report.findings.filter { host == nil || $0.host == host }
            anomalyLines = report.anomalies.compactMap { $0.summary(days: anomalies.baselineDays) }
            trendLines = report.trends.compactMap { $0.trendSummary(windowSeconds: anomalies.trendWindowSeconds) }
            for (signal, failure) in report.failures.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                anomalyLines?.append("\(signal.rawValue) could not be evaluated: \(failure)")
            }
        }
        return ReportFigures(
            period: period, host: host, generatedMs: nowMs, current: current, previous: previous,
            alerts: AlertSpan.spans(events), anomalies: anomalyLines, trends: trendLines)
    }

    /// One period's request statistics, cache counters, statements, CPU and memory.
    func periodFigures(_ range: TimeRange, host: String?) async throws -> ReportFigures.Period {
        let requests = try await store.endpointStatsWithTotal(host: host, range: range)
        let names = CacheHitCounts.metricNames
        let counts = CacheHitCounts.perHostAndType(
            hits: try await store.increase(name: names.hits, host: host, range: range),
            misses: try await store.increase(name: names.misses, host: host, range: range))
        var cacheTypes: [String: (hits: Double, misses: Double)] = [:]
        for byType in counts.values {
            for (type, pair) in byType {
                cacheTypes[type, default: (0, 0)].hits += pair.0
                cacheTypes[type, default: (0, 0)].misses += pair.1
            }
        }
        let slow = try await store.increase(name: "mon_postgres_statements_slow_total", host: host, range: range)
        let cpu = try await store.series(
            names: ["mon_host_cpu_usage_ratio"], host: host, labels: ["cpu": "all"], range: range)
        let memory = try await store.series(names: ["mon_host_memory_used_ratio"], host: host, range: range)
        return ReportFigures.Period(
            startMs: range.startMs, endMs: range.endMs, endpoints: requests.endpoints, requests: requests.total,
            cacheTypes: cacheTypes,
            statements: try await store.slowStatements(host: host, range: range, limit: Self.statementLimit),
            slowStatements: slow.isEmpty ? nil : slow.reduce(0) { $0 + $1.value },
            cpu: ReportFigures.Gauge(series: cpu, scale: 100), memory: ReportFigures.Gauge(series: memory, scale: 100))
    }

    /// The report of the period ending at `nowMs`, drawn: the PDF's bytes and its page count.
    public func pdf(period: String, host: String?, nowMs: Int64) async throws -> (bytes: [UInt8], pages: Int) {
        let report = PeriodReport(figures: try await figures(period: period, host: host, nowMs: nowMs))
        return try Self.render(report)
    }

    /// `report` as a PDF: its bytes and page count.
    public static func render(_ report: PeriodReport) throws -> (bytes: [UInt8], pages: Int) {
        let canvas = try PDFCanvas(title: "\(PeriodReport.title), last \(report.period)")
        let pages = try ReportLayout.draw(report, on: canvas)
        return (try canvas.finish(), pages)
    }
}
