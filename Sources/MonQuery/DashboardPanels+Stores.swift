import MonCore
import MonQueryKit

/// Redis and PostgreSQL panels, from `/redis/status`, `/redis/stats`, `/redis/slowlog`,
/// `/postgres/slow_queries`, `/postgres/tables` and `/postgres/indexes`' functions.
extension DashboardPanels {
    static func hitStatus(_ percent: Double?) -> Status { .below(percent, Thresholds.redisHitPercent) }

    /// Hit rate gauge per host over the period, memory gauge, and per cache type rates.
    mutating func redisHitRate() async throws -> HTML {
        let (api, range, host) = (api, range, host)
        async let statuses = RedisStatus.load(api.stores, range: range, host: host)
        async let statsHosts = api.redisStatsHosts(range: range, host: host)
        let (status, stats) = try await (statuses, statsHosts)
        guard !status.isEmpty else {
            return DashboardView.panel(
                "redis-hit-rate", "Redis hit rate, \(rangeView.label)",
                "<div class=\"no-data\" role=\"note\">No Redis data in this period (is the agent's Redis source configured?)</div>"
            )
        }
        var gauges: [HTML] = []
        for entry in status.prefix(4) {
            let hit = entry.hitRatio.map { $0 * 100 }
            gauges.append(
                Gauge(title: "Hit rate \(entry.host)", percent: hit, status: Self.hitStatus(hit)).render())
            if let used = entry.memoryUsedRatio.map({ $0 * 100 }) {
                gauges.append(
                    Gauge(
                        title: "Memory of maxmemory \(entry.host)", percent: used,
                        status: .above(used, Thresholds.redisMemoryPercent)
                    ).render())
            }
        }
        var rows: [[HTML]] = []
        var bars: [BarChart.Bar] = []
        for entry in stats {
            guard case .array(let types)? = entry["cache_types"] else { continue }
            for type in types {
                let hit = type["hit_rate_percent"]?.doubleValue
                if let hit {
                    let name = type["type"]?.stringValue ?? ""
                    bars.append(
                        .init(
                            label: stats.count > 1 ? "\(name) (\(entry["host"]?.stringValue ?? ""))" : name, value: hit,
                            text: DashboardFormat.percent(hit), status: Self.hitStatus(hit)))
                }
                let state: HTML = hit == nil ? "<span class=\"quiet\">unknown</span>" : Self.hitStatus(hit).badge
                rows.append([
                    "\(type["type"]?.stringValue ?? "")", "\(DashboardFormat.percent(hit))", state,
                    "\(DashboardFormat.count(type["keys"]?.doubleValue))",
                    "\(DashboardFormat.number(type["avg_ttl_seconds"]?.doubleValue)) s",
                ])
            }
        }
        // The rates as bars on a 0–100 % scale, coloured by the hit-rate rule's thresholds;
        // types without the application's per-type counters (StatsD) have no rate and no bar.
        let chart: HTML =
            bars.isEmpty
            ? .empty
            : "<figure class=\"chart hit-rate-bars\">\(BarChart(title: "Hit rate per cache type, \(rangeView.label)", bars: bars, maximum: 100).render())</figure>"
        let types =
            rows.isEmpty
            ? "<p class=\"quiet\">No cache types configured on the agent (redis.cache_types).</p>" as HTML
            : DashboardView.table(
                "Hit rate per cache type", headers: ["Cache type", "Hit rate", "State", "Keys", "Avg TTL"],
                numeric: [1, 3, 4], rows: rows)
        let names = status.map(\.host)
        let flags: [HTML] = status.flatMap { entry in
            entry.flags.map { "<li>\(Status.warning.badge) \($0.message)</li>" as HTML }
        }
        let figures: [HTML] = status.prefix(4).map { entry in
            // HTML, not text: the figures are bold (as text, the tags showed escaped).
            let items = zip(RedisStatus.figures, entry.figureValues).enumerated().map { index, pair in
                let (figure, value) = pair
                // Clients against maxclients: "Clients 5 / 20".
                let limit =
                    figure.metric == "mon_redis_connected_clients"
                    ? entry.maxClients.map { " / " + DashboardFormat.count($0) } ?? "" : ""
                return "\(index > 0 ? " · " : "")\(figure.label) <b>\(Self.format(value, figure.format))\(limit)</b>"
                    as HTML
            }
            return "<p class=\"quiet\">\(names.count > 1 ? "\(entry.host): " : "")\(items)</p>"
        }
        let flagList: HTML = flags.isEmpty ? .empty : "<ul class=\"alerts plain\">\(flags)</ul>"
        // Connected clients of maxclients per host, as bars on a 0–100 % scale, under the gauge
        // with the hit-rate bars (a 640-unit chart in the narrow side column drew 5-pixel text).
        let clientBars: [BarChart.Bar] = status.prefix(4).compactMap { entry in
            guard let ratio = entry.clientsUsedRatio, let max = entry.maxClients else { return nil }
            let connected = DashboardFormat.count(entry.connectedClients)
            return .init(
                label: names.count > 1 ? "Clients \(entry.host)" : "Clients",
                value: ratio * 100, text: "\(connected) / \(DashboardFormat.count(max))")
        }
        let clients: HTML =
            clientBars.isEmpty
            ? .empty
            : "<figure class=\"chart clients-bars\">\(BarChart(title: "Connected clients of maxclients", bars: clientBars, maximum: 100).render())</figure>"
        return DashboardView.panel(
            "redis-hit-rate", "Redis hit rate, \(rangeView.label)" + (names.count == 1 ? " · \(names[0])" : ""),
            "<div class=\"gauge-wrap\">\(gauges)<div class=\"gauge-side\">\(figures)<h3 class=\"sub\">Per cache type</h3>\(types)\(flagList)</div></div>\(chart)\(clients)"
        )
    }

    /// A figure of `RedisStatus` as the dashboard prints it.
    static func format(_ value: Double?, _ format: RedisStatus.Figure.Format) -> String {
        switch format {
        case .count: DashboardFormat.count(value)
        case .bytes: DashboardFormat.bytes(value)
        case .perSecond: DashboardFormat.count(value) + "/s"
        case .seconds: DashboardFormat.duration(seconds: value)
        }
    }

    func redisCharts() async throws -> HTML {
        let data = try await api.store.series(
            names: [
                "mon_redis_hit_ratio", "mon_redis_memory_used_bytes", "mon_redis_ops_per_second",
                "mon_redis_evictions_per_second",
            ], host: host, range: range)
        func lines(_ metric: String, _ label: String, colour: Int, scale: Double = 1) -> [LineChart.Series] {
            data.filter { $0.name == metric }.enumerated().map { index, series in
                LineChart.Series(
                    name: data.hosts.count > 1 ? "\(label) \(series.host)" : label, colour: colour + index,
                    points: series.points.map { ($0.ms, $0.value * scale) })
            }
        }
        let charts: [(String, LineChart)] = [
            (
                "Hit rate",
                LineChart(
                    title: "Redis hit rate", series: lines("mon_redis_hit_ratio", "hit rate", colour: 1, scale: 100),
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.percent($0) },
                    minimumTop: 100,
                    gapMs: gapMs)
            ),
            (
                "Memory used",
                LineChart(
                    title: "Redis memory used", series: lines("mon_redis_memory_used_bytes", "memory", colour: 2),
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.bytes($0) }, gapMs: gapMs)
            ),
            (
                "Commands and evictions per second",
                LineChart(
                    title: "Redis commands and evictions per second",
                    series: lines("mon_redis_ops_per_second", "commands/s", colour: 1)
                        + lines("mon_redis_evictions_per_second", "evictions/s", colour: 5),
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.number($0) + "/s" },
                    gapMs: gapMs)
            ),
        ]
        let figures: [HTML] = charts.map {
            "<figure class=\"chart\"><h3>\($0.0)</h3>\($0.1.sized(width: 420, height: 170).render())</figure>"
        }
        return DashboardView.panel(
            "chart-redis", "Redis over time, \(rangeView.label)", "<div class=\"small-multiples\">\(figures)</div>")
    }

    /// The latest walk's biggest keys and, under an LFU policy, the most used, per host. The
    /// dashboard is for admins: the names are shown, escaped like every text.
    func redisTopKeys() async throws -> HTML {
        let snapshots = try await RedisTopKeysSnapshot.load(api.store, range: range, host: host)
        let title = "Redis top keys, \(rangeView.label)"
        guard !snapshots.isEmpty else {
            return DashboardView.panel(
                "redis-top-keys", title,
                "<div class=\"no-data\" role=\"note\">No top-keys snapshot in this period (redis.top_keys on the agent; one per completed key walk)</div>"
            )
        }
        let several = snapshots.count > 1
        func rows(_ keys: [RedisTopKeysSnapshot.Key], _ value: (Double) -> String) -> [[HTML]] {
            keys.map { key in
                ["<code class=\"redis-key\">\(key.name)</code>", "\(key.type)", "\(value(key.value))"]
            }
        }
        let parts: [HTML] = snapshots.prefix(4).map { snapshot in
            let heading: HTML = several ? "<h3 class=\"sub\">\(snapshot.host)</h3>" : .empty
            let sampled =
                "Latest walk \(Self.shortTime(Timestamp.iso8601(ms: snapshot.timestampMs))), \(DashboardFormat.count(snapshot.sampledKeys)) keys sampled, maxmemory-policy \(snapshot.maxmemoryPolicy ?? "unknown")"
            let bySize = DashboardView.table(
                "Biggest keys (sampled MEMORY USAGE)", headers: ["Key", "Cache type", "Memory"], numeric: [2],
                rows: rows(snapshot.bySize) { DashboardFormat.bytes($0) })
            let byFrequency: HTML =
                snapshot.byFrequency.map { keys in
                    DashboardView.table(
                        "Most used keys (OBJECT FREQ, LFU counter)", headers: ["Key", "Cache type", "Frequency"],
                        numeric: [2], rows: rows(keys) { DashboardFormat.count($0) })
                } ?? "<p class=\"quiet frequency-note\">\(snapshot.frequencyNote ?? "")</p>"
            let refused: [HTML] = snapshot.refused.map {
                "<li>\(Status.warning.badge) Redis refused \($0.command): \($0.error)</li>"
            }
            let refusedList: HTML = refused.isEmpty ? .empty : "<ul class=\"alerts plain\">\(refused)</ul>"
            return
                "\(heading)<p class=\"quiet\">\(sampled)</p><h3 class=\"sub\">By size</h3>\(bySize)<h3 class=\"sub\">By access frequency</h3>\(byFrequency)\(refusedList)"
        }
        return DashboardView.panel("redis-top-keys", title, wide: true, "\(parts)")
    }

    func redisSlowlog() async throws -> HTML {
        let entries = try await api.redisSlowlogEntries(range: range, host: host, limit: 20, allArguments: true)
        let rows: [[HTML]] = entries.map { entry -> [HTML] in
            var command = entry["command"]?.stringValue ?? ""
            if case .array(let arguments)? = entry["arguments"] {
                command += " " + arguments.compactMap(\.stringValue).joined(separator: " ")
            }
            return [
                "\(Self.shortTime(entry["timestamp"]?.stringValue ?? ""))", "\(entry["host"]?.stringValue ?? "")",
                "\(DashboardFormat.milliseconds(entry["duration_ms"]?.doubleValue))",
                "<code>\(String(command.prefix(200)))</code>",
            ]
        }
        return DashboardView.panel(
            "redis-slowlog", "Redis SLOWLOG, \(rangeView.label)", wide: true,
            DashboardView.table(
                "Redis SLOWLOG", headers: ["Time", "Host", "Duration", "Command"], numeric: [2], rows: rows))
    }

    func postgresCharts() async throws -> HTML {
        let data = try await api.store.series(
            names: [
                "mon_postgres_cache_hit_ratio", "mon_postgres_connections_used", "mon_postgres_max_connections",
                "mon_postgres_commits_per_second", "mon_postgres_rollbacks_per_second",
            ], host: host, range: range)
        func lines(_ metric: String, _ label: String, colour: Int, scale: Double = 1) -> [LineChart.Series] {
            data.filter { $0.name == metric }.enumerated().map { index, series in
                LineChart.Series(
                    name: data.hosts.count > 1 ? "\(label) \(series.host)" : label, colour: colour + index,
                    points: series.points.map { ($0.ms, $0.value * scale) })
            }
        }
        let charts: [(String, LineChart)] = [
            (
                "Cache hit ratio",
                LineChart(
                    title: "PostgreSQL cache hit ratio",
                    series: lines("mon_postgres_cache_hit_ratio", "cache hit", colour: 1, scale: 100),
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.percent($0) },
                    minimumTop: 100,
                    gapMs: gapMs)
            ),
            (
                "Connections",
                LineChart(
                    title: "PostgreSQL connections",
                    series: lines("mon_postgres_connections_used", "used", colour: 1)
                        + lines("mon_postgres_max_connections", "max", colour: 4),
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.number($0) }, gapMs: gapMs)
            ),
            (
                "Transactions per second",
                LineChart(
                    title: "PostgreSQL commits and rollbacks per second",
                    series: lines("mon_postgres_commits_per_second", "commits/s", colour: 1)
                        + lines("mon_postgres_rollbacks_per_second", "rollbacks/s", colour: 5),
                    startMs: range.startMs, endMs: range.endMs, format: { DashboardFormat.number($0) + "/s" },
                    gapMs: gapMs)
            ),
        ]
        let figures: [HTML] = charts.map {
            "<figure class=\"chart\"><h3>\($0.0)</h3>\($0.1.sized(width: 420, height: 170).render())</figure>"
        }
        return DashboardView.panel(
            "chart-postgres", "PostgreSQL over time, \(rangeView.label)", wide: true,
            "<div class=\"small-multiples\">\(figures)</div>")
    }

    /// Slowest statements with their plan and index suggestions (full texts: the dashboard is admin-only).
    func slowQueries() async throws -> HTML {
        let limit = section == .advanced ? 5 : 20
        let statements = try await api.slowQueryRows(range: range, host: host, limit: limit, fullText: true)
        let rows: [[HTML]] = statements.enumerated().map { index, statement -> [HTML] in
            let query = statement["query"]?.stringValue ?? "(query text not available)"
            var details: [HTML] = []
            if case .array(let suggestions)? = statement["suggestions"] {
                for suggestion in suggestions {
                    details.append(
                        "<p class=\"suggestion\">Suggestion: \(suggestion["reason"]?.stringValue ?? "")<br><code>\(suggestion["sql"]?.stringValue ?? "")</code></p>"
                    )
                }
            }
            if let plan = statement["plan"], plan != .null {
                details.append("<pre>\(PlanText.render(plan))</pre>")
            } else if let error = statement["plan_error"]?.stringValue {
                details.append("<p class=\"quiet\">No plan: \(error)</p>")
            }
            let shortQuery = query.count > 140 ? String(query.prefix(139)) + "…" : query
            let more: HTML =
                details.isEmpty
                ? .empty
                : "<details><summary>Plan\(details.count > 1 ? " and suggestions" : "")</summary><pre>\(query)</pre>\(details)</details>"
            return [
                "\(index + 1)", "<span class=\"query\">\(shortQuery)</span>\(more)",
                "\(DashboardFormat.milliseconds(statement["mean_ms"]?.doubleValue))",
                "\(DashboardFormat.count(statement["calls"]?.doubleValue))",
                "\(DashboardFormat.milliseconds(statement["total_ms"]?.doubleValue))",
            ]
        }
        let more: HTML =
            section == .advanced ? "<a class=\"more\" href=\"\(link(.postgres))\">All slow queries →</a>" : .empty
        return DashboardView.panel(
            "slow-queries", "Top slow queries, \(rangeView.label)", wide: section != .advanced, tools: more,
            DashboardView.table(
                "Slow queries", headers: ["#", "Query", "Mean", "Calls", "Total"], numeric: [0, 2, 3, 4], rows: rows))
    }

    func postgresTables() async throws -> HTML {
        let hosts = try await api.snapshotHosts(
            kind: "pg_table", listName: "tables", range: range, host: host, limit: 15)
        var bars: [BarChart.Bar] = []
        var partitioned: [[HTML]] = []
        for entry in hosts {
            guard case .array(let tables)? = entry["tables"] else { continue }
            for table in tables {
                let size = table["total_bytes"]?.doubleValue ?? 0
                var name = table["table"]?.stringValue ?? ""
                if hosts.count > 1 { name = "\(entry["host"]?.stringValue ?? "") \(name)" }
                // A partition tree is one entry (its leaves summed by the agent), named as such.
                if table["partitioned"]?.boolValue == true {
                    let count = table["partitions"]?.doubleValue ?? 0
                    let partitions = "\(DashboardFormat.count(count)) partition\(count == 1 ? "" : "s")"
                    partitioned.append([
                        "\(name)", "\(partitions)", "\(DashboardFormat.count(table["live_rows"]?.doubleValue))",
                        "\(DashboardFormat.bytes(size))",
                    ])
                    name += " (partitioned, \(partitions))"
                }
                bars.append(.init(label: name, value: size, text: DashboardFormat.bytes(size)))
            }
        }
        let trees: HTML =
            partitioned.isEmpty
            ? .empty
            : DashboardView.table(
                "Partitioned tables", headers: ["Table", "Partitions", "Rows", "Size"], numeric: [1, 2, 3],
                rows: partitioned)
        return DashboardView.panel(
            "postgres-tables", "Largest tables (table + indexes)",
            BarChart(title: "Largest tables by total size", bars: Array(bars.sorted { $0.value > $1.value }.prefix(15)))
                .render() + trees)
    }

    func postgresIndexes() async throws -> HTML {
        let hosts = try await api.snapshotHosts(
            kind: "pg_index", listName: "indexes", range: range, host: host, limit: 30)
        var rows: [[HTML]] = []
        for entry in hosts {
            guard case .array(let indexes)? = entry["indexes"] else { continue }
            for index in indexes {
                let unused = index["unused"]?.boolValue == true
                rows.append([
                    "<code>\(index["index"]?.stringValue ?? "")</code>", "\(index["table"]?.stringValue ?? "")",
                    "\(DashboardFormat.count(index["scans"]?.doubleValue))",
                    "\(DashboardFormat.bytes(index["size_bytes"]?.doubleValue))",
                    unused ? "\(Status.warning.badge) unused" : "used",
                ])
            }
        }
        return DashboardView.panel(
            "postgres-indexes", "Index usage",
            DashboardView.table(
                "Index usage", headers: ["Index", "Table", "Scans", "Size", "Usage"], numeric: [2, 3], rows: rows))
    }
}
