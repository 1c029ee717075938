import MonCore
import MonQueryKit

/// The four summary cards, from the typed `Summary` that `/api/monitoring/metrics/summary`
/// renders as JSON. States use
/// the product brief's thresholds (the same as the shipped alert rules); a firing alert of
/// the card's source makes the card at least as bad as the alert.
extension DashboardPanels {
    /// The summary's only host entry, when there is exactly one (absolute figures come from it).
    mutating func singleHost() async throws -> Summary.Host? { try await summary().singleHost }

    mutating func hostCount() async throws -> Int { try await summary().hosts.count }

    /// Worst of the threshold states and the source's firing alerts, with the reasons.
    mutating func combine(_ checks: [(Status, String)], alerts prefixes: [String]) async throws -> (Status, [String]) {
        let (alertStatus, alertSummaries) = try await alertState(prefixes)
        let bad = checks.filter { $0.0 >= .warning }
        let status = max(checks.map(\.0).max() ?? .noData, alertStatus)
        return (status, bad.map(\.1) + alertSummaries)
    }

    mutating func apiCard() async throws -> DashboardView.Card {
        let api = try await summary().overall.api
        let (rate, p50, p95, errors) = (api.requestsPerSecond, api.p50Ms, api.p95Ms, api.errorRatePercent)
        let quiet = rate == 0
        var (status, reasons) = try await combine(
            [
                (
                    Status.above(errors, Thresholds.apiErrorPercent),
                    "5xx rate \(DashboardFormat.percent(errors)) (> \(Thresholds.text(Thresholds.apiErrorPercent.limit)) %)"
                ),
                (
                    Status.above(p95, Thresholds.apiLatencyP95Ms),
                    "P95 \(DashboardFormat.milliseconds(p95)) (> \(DashboardFormat.milliseconds(Thresholds.apiLatencyP95Ms.limit)))"
                ),
            ], alerts: ["API"])
        if quiet && status <= .ok {
            status = .noData
            reasons = []
        }
        let points = try await endpoints().flatMap(\.points)
        let perBucket = Dictionary(grouping: points, by: \.startMs).mapValues { $0.reduce(0) { $0 + $1.requests } }
        let step = Double(range.stepSeconds)
        var chart = LineChart(
            title: "Requests per second, \(rangeView.label)",
            series: [
                LineChart.Series(
                    name: "req/s", colour: 1,
                    points: perBucket.keys.sorted().map { ($0, Double(perBucket[$0] ?? 0) / step) })
            ],
            startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.number($0) + " req/s" },
            gapMs: gapMs)
        chart.compact = true
        chart.width = 300
        chart.height = 44
        return DashboardView.Card(
            fragment: "card-api", title: "API", status: status, reasons: reasons,
            headline: (quiet ? "0" : DashboardFormat.number(rate), "req/s"),
            figures: [
                ("P50", DashboardFormat.milliseconds(p50)), ("P95", DashboardFormat.milliseconds(p95)),
                ("5xx", DashboardFormat.percent(errors)), ("Window", "last 5 min"),
            ],
            sparkline: chart.render(), link: link(.api))
    }

    mutating func redisCard() async throws -> DashboardView.Card {
        let redis = try await summary().overall.redis
        let (hit, memoryPercent) = (redis.hitRatePercent, redis.memoryUsedPercent)
        let single = try await singleHost()?.redis
        let (used, max) = (single?.memoryUsedBytes, single?.memoryMaxBytes)
        let (status, reasons) = try await combine(
            [
                (
                    Status.below(hit, Thresholds.redisHitPercent),
                    "hit rate \(DashboardFormat.percent(hit)) (< \(Thresholds.text(Thresholds.redisHitPercent.limit)) %: cache ineffective)"
                ),
                (
                    Status.above(memoryPercent, Thresholds.redisMemoryPercent),
                    "memory \(DashboardFormat.percent(memoryPercent)) of maxmemory (> \(Thresholds.text(Thresholds.redisMemoryPercent.limit)) %: eviction risk)"
                ),
            ], alerts: ["Redis"])
        let memory: String
        if let used {
            memory = DashboardFormat.bytes(used) + ((max ?? 0) > 0 ? " / " + DashboardFormat.bytes(max) : " (no limit)")
        } else {
            memory = DashboardFormat.percent(memoryPercent)
        }
        let hosts = try await hostCount()
        return DashboardView.Card(
            fragment: "card-redis", title: "Redis", status: status, reasons: reasons,
            headline: (DashboardFormat.percent(hit), "hit rate" + (hosts > 1 ? " (worst host)" : "")),
            figures: [("Memory", memory), ("Used", DashboardFormat.percent(memoryPercent))],
            link: link(.redis))
    }

    mutating func postgresCard() async throws -> DashboardView.Card {
        let postgres = try await summary().overall.postgres
        let (connections, cacheHit, slow) = (
            postgres.connectionsUsedPercent, postgres.cacheHitPercent, postgres.slowQueriesLastHour
        )
        let single = try await singleHost()?.postgres
        let (used, max) = (single?.connectionsUsed, single?.connectionsMax)
        let (status, reasons) = try await combine(
            [
                (
                    Status.above(connections, Thresholds.postgresConnectionsPercent),
                    "connections \(DashboardFormat.percent(connections)) of max (> \(Thresholds.text(Thresholds.postgresConnectionsPercent.limit)) %: saturation risk)"
                ),
                (
                    Status.below(cacheHit, Thresholds.postgresCacheHitPercent),
                    "cache hit \(DashboardFormat.percent(cacheHit)) (< \(Thresholds.text(Thresholds.postgresCacheHitPercent.limit)) %: missing indexes?)"
                ),
                (
                    Status.above(slow, Thresholds.postgresSlowPerHour),
                    "\(DashboardFormat.count(slow)) slow queries in the last hour (> \(Thresholds.text(Thresholds.postgresSlowPerHour.limit)): optimisation needed)"
                ),
            ], alerts: ["Postgres"])
        let headline: (String, String) =
            used != nil
            ? ("\(DashboardFormat.number(used)) / \(DashboardFormat.number(max))", "connections")
            : (DashboardFormat.percent(connections), "connections used")
        return DashboardView.Card(
            fragment: "card-postgres", title: "PostgreSQL", status: status, reasons: reasons, headline: headline,
            figures: [
                ("Cache hit", DashboardFormat.percent(cacheHit)), ("Conn. used", DashboardFormat.percent(connections)),
                ("Slow / 1 h", DashboardFormat.count(slow)),
            ],
            link: link(.postgres))
    }

    mutating func systemCard() async throws -> DashboardView.Card {
        let system = try await summary().overall.system
        let (cpu, memory) = (system.cpuPercent, system.memoryPercent)
        let load = try await singleHost()?.system.load1
        let (status, reasons) = try await combine(
            [
                (
                    Status.above(cpu, Thresholds.hostCPUPercent),
                    "CPU \(DashboardFormat.percent(cpu)) (> \(Thresholds.text(Thresholds.hostCPUPercent.limit)) %)"
                ),
                (
                    Status.above(memory, Thresholds.hostMemoryPercent),
                    "memory \(DashboardFormat.percent(memory)) (> \(Thresholds.text(Thresholds.hostMemoryPercent.limit)) %)"
                ),
            ], alerts: ["Host", "Agent", "Ingest"])
        let data = try await api.store.series(
            names: ["mon_host_cpu_usage_ratio", "mon_host_memory_used_ratio"], host: host, range: range)
        var series: [LineChart.Series] = []
        for name in data.hosts {
            if let cpuSeries = data.first("mon_host_cpu_usage_ratio", host: name, ["cpu": "all"]) {
                series.append(
                    .init(name: "CPU \(name)", colour: 1, points: cpuSeries.points.map { ($0.ms, $0.value * 100) }))
            }
            if let memorySeries = data.first("mon_host_memory_used_ratio", host: name) {
                series.append(
                    .init(
                        name: "memory \(name)", colour: 2, points: memorySeries.points.map { ($0.ms, $0.value * 100) }))
            }
        }
        var chart = LineChart(
            title: "CPU and memory, \(rangeView.label)", series: series, startMs: range.startMs, endMs: range.endMs,
            format: { DashboardFormat.percent($0) }, minimumTop: 100, gapMs: gapMs)
        chart.compact = true
        chart.width = 300
        chart.height = 44
        let hosts = try await hostCount()
        return DashboardView.Card(
            fragment: "card-system", title: "System", status: status, reasons: reasons,
            headline: (DashboardFormat.percent(cpu), "CPU" + (hosts > 1 ? " (busiest of \(hosts) hosts)" : "")),
            figures: [
                ("Memory", DashboardFormat.percent(memory)), ("Load 1 min", DashboardFormat.number(load)),
                ("Hosts", String(hosts)),
            ],
            sparkline: chart.render())
    }
}
