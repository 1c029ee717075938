import MonCore

/// Reads what the anomaly detection judges, per series of a key signal: the current value,
/// the baseline points and the trend points. The current values and trend points come
/// from the same store queries the alert rules and charts use (`series`, `increase`,
/// `endpointStats`); the baselines from `hourRows` / `hourlyEndpointStats`.
struct SignalReader: Sendable {
    struct Inputs: Sendable {
        var host: String?
        var labels: [String: String]
        var current: Double?
        var baseline: [Double] = []
        var trend: [(ms: Int64, value: Double)] = []
    }

    /// A series: host (nil: all hosts) and labels.
    struct Key: Hashable {
        var host: String?
        var labels: [String: String]
    }

    static let cpuMetric = "mon_host_cpu_usage_ratio"
    static let redisHitMetric = "mon_redis_hit_ratio"
    static let statementSeconds = "mon_postgres_statements_exec_seconds_total"
    static let statementCalls = "mon_postgres_statements_calls_total"

    let store: QueryStore
    /// Where the API signals' current window comes from when shared (`FleetReads`).
    var fleet: FleetReads? = nil
    let settings: AnomalySettings
    let nowMs: Int64
    /// Start of the current hour of day on each baseline day.
    let baselineHoursMs: [Int64]

    func currentRange() throws -> TimeRange {
        try TimeRange(period: "\(settings.currentWindowSeconds)s", step: "60s", nowMs: nowMs)
    }

    func trendRange() throws -> TimeRange {
        try TimeRange(period: "\(settings.trendWindowSeconds)s", step: "60s", nowMs: nowMs)
    }

    /// The inputs of every series of the signals in `group` (the API signals are read together).
    func inputs(_ group: [AnomalySignal]) async throws -> [(AnomalySignal, Inputs)] {
        var result: [(AnomalySignal, Inputs)] = []
        var apiRead = false
        for signal in group {
            let inputs: [Key: Inputs]
            switch signal {
            case .cpu: inputs = try await gauge(Self.cpuMetric, match: ["cpu": "all"], scale: 100)
            case .redisHitRate: inputs = try await gauge(Self.redisHitMetric, match: [:], scale: 100)
            case .postgresMeanQuery: inputs = try await meanQueryTime()
            case .apiLatencyP95, .apiErrorRate:
                if apiRead { continue }
                apiRead = true
                for (api, entries) in try await apiSignals(group.filter { !$0.isPerHost }) {
                    result += entries.sorted { Self.order($0.key, $1.key) }.map { (api, $0.value) }
                }
                continue
            }
            result += inputs.sorted { Self.order($0.key, $1.key) }.map { (signal, $0.value) }
        }
        return result
    }

    static func order(_ a: Key, _ b: Key) -> Bool {
        let left = (a.host ?? "", a.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined())
        let right = (b.host ?? "", b.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined())
        return left < right
    }

    /// A gauge's mean over the current window, its hourly means at the baseline hours, and
    /// its per-minute means over the trend window; series whose labels include `match`.
    func gauge(_ name: String, match: [String: String], scale: Double) async throws -> [Key: Inputs] {
        func matches(_ labels: [String: String]) -> Bool { match.allSatisfy { labels[$0.key] == $0.value } }
        var inputs: [Key: Inputs] = [:]
        for series in try await store.series(names: [name], host: nil, range: try currentRange())
        where matches(series.labels) {
            let key = Key(host: series.host, labels: series.labels)
            inputs[key, default: Inputs(host: series.host, labels: series.labels)].current =
                series.average.map { $0 * scale }
        }
        for row in try await store.hourRows(names: [name], host: nil, hourStartsMs: baselineHoursMs)
        where matches(row.labels) {
            let key = Key(host: row.host, labels: row.labels)
            guard let mean = row.mean else { continue }
            inputs[key, default: Inputs(host: row.host, labels: row.labels)].baseline.append(mean * scale)
        }
        for series in try await store.series(names: [name], host: nil, range: try trendRange())
        where matches(series.labels) {
            let key = Key(host: series.host, labels: series.labels)
            inputs[key, default: Inputs(host: series.host, labels: series.labels)].trend =
                series.points.map { ($0.ms, $0.value * scale) }
        }
        return inputs
    }

    /// Mean statement time per host: increase of the execution seconds over increase of the
    /// calls — over the current window, over each baseline hour (its last value minus the
    /// previous hour's, a counter reset counting from 0), and minute to minute.
    func meanQueryTime() async throws -> [Key: Inputs] {
        var inputs: [Key: Inputs] = [:]
        func entry(_ host: String) -> Key { Key(host: host, labels: [:]) }
        var seconds: [String: Double] = [:]
        var calls: [String: Double] = [:]
        let range = try currentRange()
        for item in try await store.increase(name: Self.statementSeconds, host: nil, range: range) {
            seconds[item.host, default: 0] += item.value
        }
        for item in try await store.increase(name: Self.statementCalls, host: nil, range: range) {
            calls[item.host, default: 0] += item.value
        }
        for (host, count) in calls where count > 0 {
            inputs[entry(host), default: Inputs(host: host, labels: [:])].current = (seconds[host] ?? 0) * 1000 / count
        }
        let hours = baselineHoursMs.flatMap { [$0, $0 - 3_600_000] }
        var last: [String: [String: [Int64: Double]]] = [:]
        for row in try await store.hourRows(
            names: [Self.statementSeconds, Self.statementCalls], host: nil, hourStartsMs: hours)
        {
            last[row.host, default: [:]][row.name, default: [:]][row.hourMs, default: 0] += row.last
        }
        for (host, byName) in last {
            for hour in baselineHoursMs {
                guard let execution = Self.increase(byName[Self.statementSeconds], hour),
                    let count = Self.increase(byName[Self.statementCalls], hour), count > 0
                else { continue }
                inputs[entry(host), default: Inputs(host: host, labels: [:])].baseline.append(execution * 1000 / count)
            }
        }
        var minutes: [String: [String: [Int64: Double]]] = [:]
        for series in try await store.series(
            names: [Self.statementSeconds, Self.statementCalls], host: nil, range: try trendRange())
        {
            for point in series.points {
                minutes[series.host, default: [:]][series.name, default: [:]][point.ms] = point.value
            }
        }
        for (host, byName) in minutes {
            guard let execution = byName[Self.statementSeconds], let count = byName[Self.statementCalls] else {
                continue
            }
            let steps = count.keys.sorted()
            var points: [(ms: Int64, value: Double)] = []
            for (previous, step) in zip(steps, steps.dropFirst()) {
                guard let c0 = count[previous], let c1 = count[step], let e0 = execution[previous],
                    let e1 = execution[step], c1 > c0, e1 >= e0
                else { continue }
                points.append((step, (e1 - e0) * 1000 / (c1 - c0)))
            }
            inputs[entry(host), default: Inputs(host: host, labels: [:])].trend = points
        }
        return inputs
    }

    /// A counter's increase over the hour starting at `hour`: its last value then minus its
    /// last value the hour before (the whole value after a reset); nil without both.
    static func increase(_ lastByHour: [Int64: Double]?, _ hour: Int64) -> Double? {
        guard let now = lastByHour?[hour], let before = lastByHour?[hour - 3_600_000] else { return nil }
        return now >= before ? now - before : now
    }

    /// API P95 per endpoint and the error rate, all hosts merged, from the request-duration
    /// histograms; windows and hours with fewer than `anomalies.min_requests` requests are left out.
    func apiSignals(_ signals: [AnomalySignal]) async throws -> [(AnomalySignal, [Key: Inputs])] {
        let minRequests = settings.minRequests
        let perEndpoint = signals.contains(.apiLatencyP95)
        let errorRate = signals.contains(.apiErrorRate)
        var latency: [Key: Inputs] = [:]
        var errors = Inputs(host: nil, labels: [:])
        func key(_ stats: EndpointStats) -> Key {
            Key(host: nil, labels: ["method": stats.method, "endpoint": stats.endpoint])
        }
        let window = Double(settings.currentWindowSeconds)
        let current =
            if let fleet {
                try await fleet.figures(windowSeconds: settings.currentWindowSeconds, nowMs: nowMs).byEndpoint
            } else {
                try await store.endpointStats(host: nil, range: try currentRange(), perStep: false)
            }
        for stats in current where perEndpoint && stats.requests >= max(1, minRequests) {
            let totals = EndpointStats.totals([stats])
            latency[key(stats), default: Inputs(host: nil, labels: key(stats).labels)].current = totals.value(
                of: AnomalySignal.apiLatencyP95.rawValue, windowSeconds: window)
        }
        let all = EndpointStats.totals(current)
        if all.requests >= max(1, minRequests) {
            errors.current = all.value(of: AnomalySignal.apiErrorRate.rawValue, windowSeconds: window)
        }
        let hourly = try await store.hourlyEndpointStats(
            host: nil, hourEndsMs: baselineHoursMs.map { $0 + 3_600_000 })
        for hourEnd in hourly.keys.sorted(by: >) {
            let endpoints = hourly[hourEnd] ?? []
            for stats in endpoints where perEndpoint && stats.requests >= max(1, minRequests) {
                if let value = EndpointStats.totals([stats]).value(
                    of: AnomalySignal.apiLatencyP95.rawValue, windowSeconds: 3600)
                {
                    latency[key(stats), default: Inputs(host: nil, labels: key(stats).labels)].baseline.append(value)
                }
            }
            let totals = EndpointStats.totals(endpoints)
            if totals.requests >= max(1, minRequests),
                let value = totals.value(of: AnomalySignal.apiErrorRate.rawValue, windowSeconds: 3600)
            {
                errors.baseline.append(value)
            }
        }
        var steps: [Int64: (requests: Int64, errors: Int64)] = [:]
        for stats in try await store.endpointStats(host: nil, range: try trendRange()) {
            if perEndpoint {
                latency[key(stats), default: Inputs(host: nil, labels: key(stats).labels)].trend = stats.points
                    .compactMap { point in point.p95.map { (point.startMs, $0 * 1000) } }
            }
            for point in stats.points {
                steps[point.startMs, default: (0, 0)].requests += point.requests
                steps[point.startMs, default: (0, 0)].errors += point.serverErrors
            }
        }
        errors.trend = steps.keys.sorted().compactMap { ms in
            guard let step = steps[ms], step.requests > 0 else { return nil }
            return (ms, Double(step.errors) / Double(step.requests) * 100)
        }
        var result: [(AnomalySignal, [Key: Inputs])] = []
        if perEndpoint { result.append((.apiLatencyP95, latency)) }
        if errorRate, errors.current != nil || !errors.baseline.isEmpty || !errors.trend.isEmpty {
            result.append((.apiErrorRate, [Key(host: nil, labels: [:]): errors]))
        }
        return result
    }
}
