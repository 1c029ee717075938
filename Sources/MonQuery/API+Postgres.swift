import Foundation
import Hummingbird
import MonCore
import MonQueryKit

extension API {
    func postgresStatus(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        return envelope(range, hosts: try await postgresStatusHosts(range: range, host: try parameters.host()))
    }

    /// One entry per host of `/postgres/status` (the dashboard's PostgreSQL page reads them too).
    func postgresStatusHosts(range: TimeRange, host: String?) async throws -> [JSONValue] {
        async let series = store.series(
            names: [
                "mon_postgres_up", "mon_postgres_info", "mon_postgres_uptime_seconds", "mon_postgres_max_connections",
                "mon_postgres_connections_used", "mon_postgres_connections_used_ratio", "mon_postgres_cache_hit_ratio",
                "mon_postgres_commits_per_second", "mon_postgres_rollbacks_per_second",
                "mon_postgres_longest_query_seconds", "mon_postgres_longest_transaction_seconds",
                "mon_postgres_statements_available",
            ],
            host: host,
            range: range
        )
        let hour = try TimeRange(period: "1h", step: nil, nowMs: range.endMs)
        // Four queries side by side, each on its own connection of the pool.
        async let slowRows = store.increase(name: "mon_postgres_statements_slow_total", host: host, range: hour)
        async let deadlockRows = store.increase(name: "mon_postgres_deadlocks_total", host: host, range: range)
        async let statusEvents = store.latestEvents(kind: "pg_status", host: host, range: range)
        let data = try await series
        let (slow, deadlocks, statuses) = try await (slowRows, deadlockRows, statusEvents)
        let hosts: [JSONValue] = data.hosts.map { host in
            let up = data.first("mon_postgres_up", host: host)
            let used = data.first("mon_postgres_connections_used", host: host)?.latest
            let maxConnections = data.first("mon_postgres_max_connections", host: host)?.latest
            let usedRatio = data.first("mon_postgres_connections_used_ratio", host: host)?.latest
            let hitRatio = data.first("mon_postgres_cache_hit_ratio", host: host)
            let slowLastHour = slow.filter { $0.host == host }.reduce(0) { $0 + $1.value }
            var flags: [JSONValue] = []
            let slowLimit = Thresholds.postgresSlowPerHour.limit
            if slowLastHour > slowLimit {
                flags.append(
                    flag(
                        "slow_queries",
                        "\(PrometheusText.format(slowLastHour.rounded())) slow queries in the last hour (> \(Thresholds.text(slowLimit))): optimisation needed"
                    )
                )
            }
            let cacheLimit = Thresholds.postgresCacheHitPercent
            if let ratio = hitRatio?.latest, ratio < cacheLimit.ratio {
                flags.append(
                    flag(
                        "cache_hit_ratio",
                        "cache hit ratio \(percent(ratio)) % (< \(Thresholds.text(cacheLimit.limit)) %): missing indexes or too little shared_buffers?"
                    )
                )
            }
            let connectionLimit = Thresholds.postgresConnectionsPercent
            if let ratio = usedRatio, ratio > connectionLimit.ratio {
                flags.append(
                    flag(
                        "connections",
                        "\(percent(ratio)) % of max_connections used (> \(Thresholds.text(connectionLimit.limit)) %): saturation risk"
                    ))
            }
            let status = statuses.first { $0.host == host }?.payload.value
            return .object([
                ("host", .string(host)),
                ("timestamp", Shape.timestamp([up])),
                ("up", .bool(up?.latest == 1)),
                ("version", .string(data.first("mon_postgres_info", host: host)?.labels["version"] ?? "")),
                ("uptime_seconds", Shape.latest(data.first("mon_postgres_uptime_seconds", host: host))),
                (
                    "connections",
                    .object([
                        ("used", .number(used)), ("max", .number(maxConnections)),
                        ("used_percent", .number(usedRatio.map { $0 * 100 })),
                    ])
                ),
                ("cache_hit_ratio_percent", Shape.latest(hitRatio, scale: 100)),
                ("average_cache_hit_ratio_percent", Shape.average(hitRatio, scale: 100)),
                ("commits_per_second", Shape.latest(data.first("mon_postgres_commits_per_second", host: host))),
                ("rollbacks_per_second", Shape.latest(data.first("mon_postgres_rollbacks_per_second", host: host))),
                ("deadlocks_in_period", .number(deadlocks.filter { $0.host == host }.reduce(0) { $0 + $1.value })),
                ("longest_query_seconds", Shape.latest(data.first("mon_postgres_longest_query_seconds", host: host))),
                (
                    "longest_transaction_seconds",
                    Shape.latest(data.first("mon_postgres_longest_transaction_seconds", host: host))
                ),
                ("slow_queries_last_hour", .number(slowLastHour)),
                (
                    "pg_stat_statements",
                    .object([
                        ("available", .bool(data.first("mon_postgres_statements_available", host: host)?.latest == 1)),
                        ("message", status?["message"] ?? .null),
                    ])
                ),
                ("flags", .array(flags)),
            ])
        }
        return hosts
    }

    func postgresConnections(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let nowMs = WallClock.nowMs()
        let range = try parameters.timeRange(nowMs: nowMs, retention: settings.retention)
        let hostFilter = try parameters.host()
        async let series = store.series(
            names: ["mon_postgres_connections", "mon_postgres_connections_waiting", "mon_postgres_max_connections"],
            host: hostFilter,
            range: range
        )
        async let reports = store.currentBlockingReports(host: hostFilter, cache: cache, nowMs: nowMs)
        let data = try await series
        let blocking = try await reports
        let fullText = role(request) == .admin
        let hosts: [JSONValue] = data.hosts.map { host in
            let byDatabase = Dictionary(grouping: data.all("mon_postgres_connections", host: host)) {
                $0.labels["database"] ?? ""
            }
            let report = blocking[host]
            return .object([
                ("host", .string(host)),
                ("max_connections", Shape.latest(data.first("mon_postgres_max_connections", host: host))),
                ("blocking_trees", Self.blockingTreesJSON(report, fullText: fullText)),
                ("blocking_trees_unreadable", report?.error.map { .string($0) } ?? .null),
                ("blocking_edges_dropped", .number(Double(report?.dropped ?? 0))),
                (
                    "databases",
                    .array(
                        byDatabase.keys.sorted().map { database in
                            let states = (byDatabase[database] ?? []).sorted {
                                ($0.labels["state"] ?? "") < ($1.labels["state"] ?? "")
                            }
                            let waiting = data.first(
                                "mon_postgres_connections_waiting", host: host, ["database": database])
                            return .object([
                                ("database", .string(database)),
                                ("current", .object(states.map { ($0.labels["state"] ?? "", Shape.latest($0)) })),
                                ("average", .object(states.map { ($0.labels["state"] ?? "", Shape.average($0)) })),
                                ("waiting_on_locks", Shape.latest(waiting)),
                                ("series", Shape.points(states.map { ($0.labels["state"] ?? "", $0, 1) })),
                            ])
                        }
                    )
                ),
            ])
        }
        return envelope(range, hosts: hosts)
    }

    func postgresSlowQueries(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host", "limit"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let limit = try parameters.limit(default: 20, maximum: 500)
        let rows = try await slowQueryRows(
            range: range, host: try parameters.host(), limit: limit, fullText: role(request) == .admin)
        return .json(
            .object([
                ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                ("statements", .array(rows)),
            ])
        )
    }

    /// The slowest statements of the range with plan and suggestions; unless `fullText`
    /// (admin), query texts are truncated and plans, plan errors and index suggestions (which
    /// quote the statement's filters and columns) are left out, `plan_hidden` saying so.
    func slowQueryRows(range: TimeRange, host: String?, limit: Int, fullText: Bool) async throws -> [JSONValue] {
        let statements = try await store.slowStatements(host: host, range: range, limit: limit)
        return statements.map { statement in
            let plan = statement.plan?.value
            let hitTotal = statement.sharedHit + statement.sharedRead
            return .object([
                ("host", .string(statement.host)),
                ("queryid", .string(statement.queryid)),
                ("database", .string(statement.database)),
                ("query", statement.query.map { .string(fullText ? $0 : Self.truncatedQuery($0)) } ?? .null),
                ("query_truncated", .bool(!fullText && (statement.query?.count ?? 0) > Self.viewerQueryCharacters)),
                ("calls", .number(statement.calls)),
                ("calls_per_second", .number(statement.calls / Double(range.periodSeconds))),
                ("total_ms", .number(statement.totalMs)),
                ("mean_ms", .number(statement.calls > 0 ? statement.totalMs / statement.calls : nil)),
                ("worst_interval_mean_ms", .number(statement.worstIntervalMeanMs)),
                ("max_ms", .number(statement.maxMsSinceReset)),
                ("rows", .number(statement.rows)),
                ("cache_hit_ratio_percent", .number(hitTotal > 0 ? statement.sharedHit / hitTotal * 100 : nil)),
                ("plan", fullText ? plan?["plan"]?.stringValue.flatMap(JSONValue.parse) ?? .null : .null),
                ("plan_error", fullText ? plan?["error"] ?? .null : .null),
                ("plan_hidden", .bool(!fullText && plan != nil)),
                ("suggestions", fullText ? plan?["suggestions"] ?? .array([]) : .array([])),
            ])
        }
    }

    /// Characters of a statement's text shown to the viewer role (literals are already
    /// normalized away by pg_stat_statements, but identifiers and shapes can be sensitive).
    static let viewerQueryCharacters = StatementText.viewerCharacters

    static func truncatedQuery(_ text: String) -> String { StatementText.truncated(text) }

    func postgresTables(_ request: Request) async throws -> Response {
        try await snapshot(request, kind: "pg_table", listName: "tables")
    }

    func postgresIndexes(_ request: Request) async throws -> Response {
        try await snapshot(request, kind: "pg_index", listName: "indexes")
    }

    /// Fields added to each entry of a snapshot: `unused` for indexes; for tables from an
    /// agent older than the partition rollup, `partitioned` false and `partitions` 0.
    static func snapshotExtra(kind: String, _ payload: JSONValue) -> [(String, JSONValue)] {
        if kind == "pg_table" {
            return payload["partitioned"] == nil ? [("partitioned", .bool(false)), ("partitions", .number(0))] : []
        }
        guard kind == "pg_index" else { return [] }
        let unused =
            payload["scans"]?.doubleValue == 0 && payload["primary"]?.boolValue == false
            && payload["unique"]?.boolValue == false
        return [("unused", .bool(unused))]
    }

    private func snapshot(_ request: Request, kind: String, listName: String) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "host", "limit"])
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let limit = try parameters.limit(default: 200, maximum: 1000)
        let hosts = try await snapshotHosts(
            kind: kind, listName: listName, range: range, host: try parameters.host(), limit: limit)
        return envelope(range, hosts: hosts)
    }

    /// Latest snapshot events of `kind` per host, biggest first, their payload as-is plus the
    /// `snapshotExtra` fields (`/postgres/tables`, `/postgres/indexes`, the dashboard).
    func snapshotHosts(kind: String, listName: String, range: TimeRange, host: String?, limit: Int) async throws
        -> [JSONValue]
    {
        let rows = try await store.latestEvents(kind: kind, host: host, range: range, limit: 100_000)
        return Set(rows.map(\.host)).sorted().map { host in
            let items = rows.filter { $0.host == host }
                .compactMap { row -> (Double, JSONValue)? in
                    guard let payload = row.payload.value, case .object(let pairs) = payload else { return nil }
                    let size = (payload["total_bytes"] ?? payload["size_bytes"])?.doubleValue ?? 0
                    return (
                        size,
                        .object(
                            pairs + Self.snapshotExtra(kind: kind, payload) + [
                                ("snapshot_at", .string(Timestamp.iso8601(ms: row.timestampMs)))
                            ])
                    )
                }
                .sorted { $0.0 > $1.0 }
                .prefix(limit)
                .map(\.1)
            return .object([("host", .string(host)), (listName, .array(Array(items)))])
        }
    }

    func flag(_ code: String, _ message: String) -> JSONValue {
        .object([("code", .string(code)), ("severity", "warning"), ("message", .string(message))])
    }

    func percent(_ ratio: Double) -> String {
        String((ratio * 1000).rounded() / 10)
    }
}
