import Hummingbird
import MonCore
import MonQueryKit

extension API {
    typealias SummaryFigures = Summary.Figures

    /// `GET /api/monitoring/metrics/summary[?host=]` — the dashboard's top cards in one call,
    /// per host and overall (`Summary`): latest gauges from the in-memory cache, API figures
    /// over the last 5 minutes and slow statements over the last hour from the minute
    /// rollups; the current alerts and the latest anomaly evaluation (count and the top three).
    ///
    /// The all-hosts answer of a fleet of `FleetSummary.minHosts` hosts or more is rendered once
    /// for every caller of a moment (`FleetSummary`); a smaller fleet's, and one host's, on
    /// every call.
    func summary(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["host"])
        let host = try parameters.host()
        guard host == nil, fleetSummary.isFleet else {
            let (body, hosts) = try await summaryBody(host: host, nowMs: WallClock.nowMs())
            if host == nil { fleetSummary.rendered(hosts: hosts) }
            return .jsonBody(body)
        }
        return .jsonBody(
            try await fleetSummary.body(nowMs: WallClock.nowMs()) { [self] in
                try await summaryBody(host: nil, nowMs: WallClock.nowMs())
            })
    }

    /// The summary document, and how many hosts it has.
    private func summaryBody(host: String?, nowMs: Int64) async throws -> (ByteBuffer, Int) {
        let view = try await summaryView(host: host, nowMs: nowMs)
        let document = JSONValue.object(
            view.jsonFields + [
                ("alerts", await alertsSummary(host: host)),
                ("anomalies", await anomaliesSummary(host: host)),
            ])
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024 + 700 * view.hosts.count)
        document.write(to: &bytes)
        return (ByteBuffer(bytes: bytes), view.hosts.count)
    }

    /// The summary's cards (the endpoint's body; the dashboard's cards read them too). What
    /// comes from the database (slow statements over the last hour, request statistics over
    /// the last 5 minutes, the application's cache counters over 15) is computed once for all
    /// the callers of a second and refreshed in the background while the previous figures (at
    /// most 5 s old) are served (`summaryFigures`): under a few dashboards polling at once, the
    /// queries would otherwise queue on the API's one database connection. Every host's request
    /// statistics and counter increases come from the reads the alert rules and the anomaly
    /// monitor share (`fleet`, `FleetReads`), reused for 10 × as long as they took to read, 1
    /// to 10 s (up to 30 s for the hour of slow statements). The gauges come from memory and
    /// are read on every call.
    func summaryView(host: String?, nowMs: Int64) async throws -> Summary {
        let gauges = cache.values(named: Summary.gaugeNames, host: host, nowMs: nowMs).map { entry in
            Summary.Gauge(
                host: entry.key.host, name: entry.key.name,
                labels: Dictionary(entry.key.labels.pairs.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
                value: entry.value.value, timestampMs: entry.value.timestampMs)
        }
        let recent = try TimeRange(period: Summary.apiWindow, step: "1m", nowMs: nowMs)
        // In a fleet, one host's figures are the fleet's, filtered: a read per host would scan
        // the same rows the fleet's read already has (`bench/run fleet` at 600 hosts: the
        // request-statistics scan was PostgreSQL's costliest statement).
        let figuresHost = fleetSummary.isFleet ? nil : host
        let figures = try await summaryFigures.value(figuresHost, nowMs: nowMs) { [self] in
            // Side by side, each on its own connection of the pool.
            let hour = try TimeRange(period: "1h", step: nil, nowMs: nowMs)
            let quarter = try TimeRange(period: "15m", step: nil, nowMs: nowMs)
            async let slow = increase(
                name: "mon_postgres_statements_slow_total", host: figuresHost, range: hour, shared: true)
            async let apiHosts = apiFigures(host: figuresHost, range: recent)
            async let cacheCounts = applicationCacheCounts(host: figuresHost, range: quarter, shared: true)
            return SummaryFigures(
                slow: try await slow, apiHosts: try await apiHosts, cacheCounts: try await cacheCounts,
                apiWindowSeconds: recent.periodSeconds)
        }
        return Summary(
            gauges: gauges, figures: figuresHost == host ? figures : figures.only(host ?? ""), host: host,
            apiWindowSeconds: recent.periodSeconds, nowMs: nowMs)
    }

    /// Request statistics per host over `range`: every host's from the fleet's figures the
    /// alert rules and the anomaly monitor share (`fleet`), one host's from its own read.
    private func apiFigures(host: String?, range: TimeRange) async throws -> [String: [EndpointStats]] {
        guard host == nil else { return try await store.endpointStatsByHost(host: host, range: range) }
        return try await fleet.figures(windowSeconds: range.periodSeconds, nowMs: range.endMs).byHost
    }

    /// A counter's increase over `range` per series: with `shared`, every host's from the reads
    /// the alert rules share (`fleet`: the summary and the `PostgresSlowQueries` rule read the
    /// same hour); otherwise, and for one host, its own read.
    func increase(name: String, host: String?, range: TimeRange, shared: Bool) async throws -> [IncreaseRow] {
        guard shared, host == nil else { return try await store.increase(name: name, host: host, range: range) }
        return try await fleet.increase(name: name, windowSeconds: range.periodSeconds, nowMs: range.endMs)
    }

    /// Derived API signals `compare` understands, besides stored metric names.
    static var derivedSignals: [String: (unit: String, help: String)] { EndpointStats.Totals.signals }

    /// `GET /api/monitoring/compare?metric=&labels=&window=1h[&host=]` — the value over the
    /// last `window` against the same window yesterday and last week, with the change in
    /// percent and a trend flag. `metric` is a stored metric (gauges: mean; counters: rate
    /// per second) or a derived API signal (`api_latency_p95_ms`, …); `labels` filters
    /// series (`endpoint=/v1/search,method=GET`).
    func compare(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["metric", "labels", "window", "host"])
        guard let metric = parameters["metric"], !metric.isEmpty else {
            throw ParameterError(
                "metric",
                "required: a metric name (e.g. mon_host_cpu_usage_ratio) or one of "
                    + Self.derivedSignals.keys.sorted().joined(separator: ", "))
        }
        guard metric.count <= 200,
            metric.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") })
        else {
            throw ParameterError("metric", "'\(metric.prefix(40))' is not a metric name")
        }
        let labels = try Self.parseLabels(parameters["labels"])
        let host = try parameters.host()
        // `window` (or `period`) back from now, or `from`/`to`: the same span a day and a
        // week before it.
        let range = try parameters.timeRange(
            nowMs: WallClock.nowMs(), retention: nil, limits: .init(minimumSeconds: 60, maximumSeconds: 7 * 86_400))
        let window = range.periodSeconds
        let nowMs = range.endMs
        // The three windows side by side, each on its own connection of the pool.
        async let now = compareValue(metric, labels: labels, host: host, window: window, endMs: nowMs)
        async let yesterday = compareValue(
            metric, labels: labels, host: host, window: window, endMs: nowMs - 86_400_000)
        async let lastWeek = compareValue(
            metric, labels: labels, host: host, window: window, endMs: nowMs - 604_800_000)
        let periods: [(String, Int64, Double?)] = [
            ("now", nowMs, try await now), ("yesterday", nowMs - 86_400_000, try await yesterday),
            ("last_week", nowMs - 604_800_000, try await lastWeek),
        ]
        let unit = Self.derivedSignals[metric]?.unit ?? Self.unit(ofMetric: metric)
        let current = periods[0].2
        let changes = periods.dropFirst().map { Comparison.changePercent(current, from: $0.2) }
        let trend = Comparison.trend(changes)
        func text(_ value: Double?) -> String {
            guard let value else { return "no data" }
            return "\((value * 100).rounded() / 100) \(unit)"
        }
        var summary = "\(metric): now \(text(current))"
        for ((name, _, value), delta) in zip(periods.dropFirst(), changes) {
            let label = name == "yesterday" ? "yesterday" : "last week"
            summary += ", \(label) \(text(value))"
            if let delta { summary += " (\(delta >= 0 ? "+" : "")\((delta * 10).rounded() / 10) %)" }
        }
        if trend == "up" { summary += " ⚠ trending up" }
        if trend == "down" { summary += " ⚠ trending down" }
        var pairs: [(String, JSONValue)] = [
            ("metric", .string(metric)),
            ("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("host", host.map { .string($0) } ?? .null),
            ("window", .string(DurationText.format(seconds: window))),
            ("period", .string(DurationText.format(seconds: window))),
            ("unit", .string(unit)),
        ]
        for (index, (name, endMs, value)) in periods.enumerated() {
            var entry: [(String, JSONValue)] = [
                ("from", .string(Timestamp.iso8601(ms: endMs - window * 1000))),
                ("to", .string(Timestamp.iso8601(ms: endMs))),
                ("value", .number(value)),
            ]
            if index > 0 { entry.append(("change_percent", .number(changes[index - 1]))) }
            pairs.append((name, .object(entry)))
        }
        pairs.append(("trend", .string(trend)))
        pairs.append(("summary", .string(summary)))
        return .json(.object(pairs))
    }

    static func unit(ofMetric name: String) -> String {
        for (suffix, unit) in [
            ("_seconds_total", "seconds/s"), ("_bytes_total", "bytes/s"), ("_total", "per second"),
            ("_ratio", "ratio"), ("_seconds", "seconds"), ("_bytes", "bytes"), ("_percent", "percent"),
        ] where name.hasSuffix(suffix) {
            return unit
        }
        return ""
    }

    /// `labels=a=b,c=d` → `[a: b, c: d]`.
    static func parseLabels(_ text: String?) throws(ParameterError) -> [String: String] {
        guard let text, !text.isEmpty else { return [:] }
        guard text.count <= 1000 else { throw ParameterError("labels", "longer than 1000 characters") }
        var labels: [String: String] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, !pair[0].isEmpty,
                pair[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw ParameterError("labels", "'\(part.prefix(40))' is not name=value (pairs separated by commas)")
            }
            // PostgreSQL's jsonb cannot hold U+0000, so no stored label has one; a control
            // character is a careless or hostile caller, answered 400 rather than 500.
            guard !pair[1].unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw ParameterError("labels", "the value of '\(pair[0])' contains a control character")
            }
            labels[String(pair[0])] = String(pair[1])
        }
        return labels
    }

    /// The value of `metric` over `[endMs - window, endMs]`, nil without data.
    private func compareValue(
        _ metric: String, labels: [String: String], host: String?, window: Int64, endMs: Int64
    ) async throws -> Double? {
        // Whole-minute steps, so the minute (or hour) rollups serve it.
        let step = window >= 2 * 86_400 ? "1h" : window >= 120 ? "1m" : "\(window)s"
        let range = try TimeRange(period: DurationText.format(seconds: window), step: step, nowMs: endMs)
        if Self.derivedSignals[metric] != nil {
            let stats = try await store.endpointStats(host: host, range: range).filter { endpoint in
                (labels["endpoint"].map { $0 == endpoint.endpoint } ?? true)
                    && (labels["method"].map { $0 == endpoint.method } ?? true)
            }
            return EndpointStats.totals(stats).value(of: metric, windowSeconds: Double(window))
        }
        if metric.hasSuffix("_total") {
            let increases = try await store.increase(name: metric, host: host, range: range).filter { entry in
                labels.allSatisfy { entry.labels[$0.key] == $0.value }
            }
            guard !increases.isEmpty else { return nil }
            return increases.reduce(0) { $0 + $1.value } / Double(window)
        }
        let series = try await store.series(names: [metric], host: host, labels: labels, range: range)
        let averages = series.compactMap(\.average)
        guard !averages.isEmpty else { return nil }
        return averages.reduce(0, +) / Double(averages.count)
    }
}
