import Hummingbird
import MonCore
import MonQueryKit

/// One endpoint of the HTTP surface: its path, its parameters and the shape of its answer.
/// The router and `/openapi.json` are both built from `API.routes`, so the published contract
/// cannot drift from what is served. Who may call it is declared in MonCore's
/// `RouteCatalogue` (one table for the whole surface, also read by the fuzz target) and
/// enforced by `RouteGate` where the route is dispatched.
struct Route: Sendable {
    var path: String
    var method: HTTPRequest.Method = .get
    var summary: String
    /// From `RouteCatalogue`; admin when the route is missing there (fail closed).
    var access: RouteAccess { RouteCatalogue.access(method: method.rawValue, path: path) }
    var parameters: [RouteParameter] = []
    /// Parameters in the path (`{name}` segments of `path`), always required.
    var pathParameters: [RouteParameter] = []
    /// Media types of a 200 answer.
    var produces: [String] = ["application/json"]
    /// Keys every 200 JSON object carries.
    var requiredKeys: [String] = []
    /// The 200 JSON body is an array (the export), not an object.
    var jsonArray = false
    /// Other statuses this endpoint answers besides 200, 400, 401, 403, 404, 405, 500, 503.
    var alsoAnswers: [Int] = []
    /// Fields of an `application/x-www-form-urlencoded` body (POST).
    var formFields: [RouteParameter] = []
    var handler: @Sendable (API, Request) async throws -> Response
}

/// A query parameter and its JSON Schema.
struct RouteParameter: Sendable {
    var name: String
    var description: String
    var schema: JSONValue
    var required = false

    static let durationPattern = "^[1-9][0-9]{0,6}[smhdw]$"

    static func duration(_ name: String, _ description: String) -> RouteParameter {
        RouteParameter(
            name: name, description: description,
            schema: .object([("type", "string"), ("pattern", .string(durationPattern))]))
    }

    static let period = duration(
        "period", "How far back from now: 30s, 5m, 1h, 24h, 7d, 30d (at most 400d). Default 1h.")

    /// An RFC 3339 time with an offset or Z, or epoch seconds (`InstantText`).
    static let instantPattern =
        "^([0-9]{1,12}(\\.[0-9]{1,9})?|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?"
        + "([Zz]|[+ -][0-9]{2}:[0-9]{2}))$"

    static func instant(_ name: String, _ description: String) -> RouteParameter {
        RouteParameter(
            name: name, description: description,
            schema: .object([("type", "string"), ("maxLength", 40), ("pattern", .string(instantPattern))]))
    }

    static let from = instant(
        "from",
        "Absolute start instead of a period: RFC 3339 with an offset or Z (2026-12-04T02:10:00Z, "
            + "2026-12-04T03:10:00+01:00) or epoch seconds (1796350200.5); 1970 to 2099. With period: 400.")
    static let to = instant(
        "to",
        "Absolute end (same forms as from; default now; at most 1 h after now; after from). Needs from; "
            + "the span keeps the route's period limits.")

    /// `to` on a dashboard page: empty is as if absent (a form's blank field).
    static let formTo = RouteParameter(
        name: "to", description: to.description + " Empty: as if absent (the range form's blank field).",
        schema: .object([("type", "string"), ("maxLength", 40), ("pattern", .string("^$|" + instantPattern))]))

    /// `from` and `to` added to every route that takes a period under any name (`period`,
    /// `since`, `window`), and `period` beside an older name (`RangeVocabulary`); a live
    /// stream takes `from` only (where its replay starts).
    static func withRangeVocabulary(_ route: Route) -> Route {
        let names = Set(route.parameters.map(\.name))
        guard let index = route.parameters.firstIndex(where: { ["period", "since", "window"].contains($0.name) })
        else { return route }
        var route = route
        var added: [RouteParameter] = []
        if !names.contains("period") {
            let alias = route.parameters[index].name
            added.append(
                duration("period", "The same as \(alias) (\(alias) is its older name; give one of them)."))
        }
        added.append(from)
        // A dashboard form sends its blank `to` field as `to=`: the pages read it as absent.
        if !route.produces.contains("text/event-stream") { added.append(route.path.hasPrefix("/ui/") ? formTo : to) }
        route.parameters.insert(contentsOf: added, at: index + 1)
        return route
    }
    static let step = duration(
        "step", "Chart resolution; default ≈ period/60 rounded to a round value; at most 2 000 points.")
    static let host = RouteParameter(
        name: "host", description: "Only this host (letters, digits, '.', '-', '_').",
        schema: .object([("type", "string"), ("pattern", "^[A-Za-z0-9._-]{1,253}$")]))

    static func limit(default defaultValue: Int, maximum: Int, only: String? = nil) -> RouteParameter {
        RouteParameter(
            name: "limit",
            description: "Most entries returned (default \(defaultValue)\(only.map { "; \($0)" } ?? ""))).",
            schema: .object([
                ("type", "integer"), ("minimum", 1), ("maximum", .number(Double(maximum))),
                ("default", .number(Double(defaultValue))),
            ]))
    }

    static func oneOf(_ name: String, _ values: [String], _ description: String, required: Bool = false)
        -> RouteParameter
    {
        RouteParameter(
            name: name, description: description,
            schema: .object([("type", "string"), ("enum", .array(values.map { .string($0) }))]), required: required)
    }

    /// Free text: 1 to `maxBytes` bytes, no control characters.
    static func text(_ name: String, maxBytes: Int, _ description: String) -> RouteParameter {
        RouteParameter(
            name: name, description: "\(description) (1–\(maxBytes) bytes, no control characters).",
            schema: .object([
                ("type", "string"), ("minLength", 1), ("maxLength", .number(Double(maxBytes))),
                ("pattern", "^[^\\u0000-\\u001f\\u007f]+$"),
            ]))
    }

    static let range = [period, step, host]
    static let logFilters = [
        oneOf("level", LogLevel.parameterNames, "This level and above."),
        text("service", maxBytes: 200, "Only records of this service"),
        text("q", maxBytes: 500, "Full-text search: words, \"phrases\", -excluded"),
        duration("since", "How far back (default 1h; 24h for the stream's replay)."),
        text("trace_id", maxBytes: 200, "Only records of this trace"),
        host,
    ]
}

extension RouteParameter {
    /// A stored report's id (`reports.id`).
    static let reportID = RouteParameter(
        name: "id", description: "A report's id, as listed by /api/monitoring/reports.",
        schema: .object([("type", "integer"), ("minimum", 1), ("maximum", 9_007_199_254_740_991)]),
        required: true)
    /// A stored log record's id (`id` in `/logs` and the stream).
    static let logID = RouteParameter(
        name: "id", description: "A log record's id, as /api/monitoring/logs and its stream give it.",
        schema: .object([("type", "integer"), ("minimum", 1), ("maximum", 9_007_199_254_740_991)]),
        required: true)
    static let traceID = RouteParameter(
        name: "trace_id", description: "32 hex digits (W3C trace id, as in a log record's trace_id).",
        schema: .object([("type", "string"), ("pattern", "^[0-9a-fA-F]{32}$")]), required: true)
    static let traceFilters = [
        text("service", maxBytes: 1024, "Only traces with a span of this service"),
        text("name", maxBytes: 1024, "Only traces with a span of this name"),
        RouteParameter(
            name: "min_duration_ms", description: "Only traces with a span lasting at least this (ms, 0-86400000).",
            schema: .object([("type", "number"), ("minimum", 0), ("maximum", 86_400_000)])),
        oneOf("status", ["error"], "Only traces with a span whose status is error."),
        duration("since", "How far back (default 1h)."),
        host,
    ]
}

extension LogLevel {
    /// Level names accepted by the log endpoints (lower case; aliases included).
    static let parameterNames = [
        "trace", "debug", "dbg", "verbose", "info", "information", "notice", "informational", "warn", "warning",
        "error", "err", "exception", "fail", "failure", "critical", "crit", "fatal", "panic", "alert", "emerg",
        "emergency", "severe",
    ]
}

extension API {
    static let envelopeKeys = ["period", "step", "from", "to", "hosts"]

    /// Every endpoint, in the order of DESIGN §8.
    static let routes: [Route] =
        ([
            Route(
                path: "/health", summary: "Liveness: 200 while the daemon runs.", requiredKeys: ["status"]
            ) { api, request in try api.health(request) },
            Route(
                path: "/health/detailed",
                summary: "Readiness: PostgreSQL, rollups, disk, ingest per agent, memory; 503 when unhealthy.",
                requiredKeys: ["status", "checked", "checks"]
            ) { api, request in try await api.healthDetailed(request) },
            Route(
                path: "/metrics",
                summary: "Prometheus exposition (text 0.0.4, or OpenMetrics 1.0.0 by Accept; gzip by Accept-Encoding).",
                produces: ["text/plain"]
            ) { api, request in try await api.prometheus(request) },
            Route(
                path: "/openapi.json", summary: "This document.", requiredKeys: ["openapi", "info", "paths"]
            ) { api, request in try api.openAPIDocument(request) },
            Route(
                path: "/api/monitoring/metrics/summary",
                summary:
                    "One-look summary: API, Redis, PostgreSQL and system cards with their state, alerts and anomalies.",
                parameters: [.host],
                requiredKeys: ["generated", "overall", "hosts", "alerts", "anomalies"]
            ) { api, request in try await api.summary(request) },
            Route(
                path: "/api/monitoring/alerts",
                summary: "Current alerts (pending and firing) and stored transitions, newest first.",
                parameters: [
                    .oneOf("state", API.alertStates, "Only this state (active: only the current alerts)."),
                    .duration("since", "Transitions this far back (default 24h)."), .host,
                    .limit(default: 200, maximum: 1000),
                ],
                requiredKeys: ["since", "evaluated", "rules", "active", "events"],
                alsoAnswers: [404]
            ) { api, request in try await api.alertsList(request) },
            Route(
                path: "/api/monitoring/alerts/stream",
                summary:
                    "Server-Sent Events: the current alerts (event active), then each stored transition (event transition, id = its alert_events id; resume with Last-Event-ID).",
                parameters: [
                    .host,
                    RouteParameter(
                        name: "last_event_id",
                        description: "Resume after this transition id (or the Last-Event-ID header).",
                        schema: .object([("type", "integer"), ("minimum", 0)])),
                ],
                produces: ["text/event-stream"], alsoAnswers: [404]
            ) { api, request in try await api.alertStream(request) },
            Route(
                path: "/api/monitoring/anomalies",
                summary:
                    "Key signals far (> 3 σ) from their usual value at this hour (same hour over the last 7 days), and steady trends.",
                parameters: [
                    RouteParameter(
                        name: "host",
                        description:
                            "Only this host's signals (letters, digits, '.', '-', '_'); the API signals, merged over hosts, are then left out.",
                        schema: .object([("type", "string"), ("pattern", "^[A-Za-z0-9._-]{1,253}$")])),
                    .oneOf("all", ["true", "false"], "true: also list every judged series under `signals`."),
                ],
                requiredKeys: ["evaluated", "evaluated_at", "anomalies", "trends", "baseline", "trend"],
                alsoAnswers: [404]
            ) { api, request in try await api.anomaliesList(request) },
            Route(
                path: "/api/monitoring/compare",
                summary: "A metric's mean over a window now, the same window yesterday and last week, and the trend.",
                parameters: [
                    RouteParameter(
                        name: "metric",
                        description: "A metric name (mon_...), or a derived API signal: "
                            + EndpointStats.Totals.signals.keys.sorted().joined(separator: ", ") + ".",
                        schema: .object([("type", "string"), ("pattern", "^[A-Za-z0-9_:]{1,200}$")]), required: true),
                    RouteParameter(
                        name: "labels", description: "Label filter: name=value pairs separated by commas.",
                        schema: .object([("type", "string"), ("maxLength", 1000)])),
                    .duration("window", "Window length, 1m to 7d (default 1h)."), .host,
                ],
                requiredKeys: ["metric", "window", "now", "yesterday", "last_week", "trend", "summary"]
            ) { api, request in try await api.compare(request) },
            Route(
                path: "/api/monitoring/system/cpu",
                summary:
                    "CPU usage, load, per process group, and pressure (PSI some/full avg10/avg60/avg300 %) per host.",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.systemCPU(request) },
            Route(
                path: "/api/monitoring/system/memory", summary: "Memory and swap per host.",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.systemMemory(request) },
            Route(
                path: "/api/monitoring/system/disk", summary: "File systems and block devices per host.",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.systemDisk(request) },
            Route(
                path: "/api/monitoring/system/network", summary: "Interfaces and sockets per host.",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.systemNetwork(request) },
            Route(
                path: "/api/monitoring/postgres/status",
                summary: "PostgreSQL per host: connections, cache hit ratio, transactions, flags.",
                parameters: [.period, .host], requiredKeys: envelopeKeys
            ) { api, request in try await api.postgresStatus(request) },
            Route(
                path: "/api/monitoring/postgres/connections",
                summary: "Connections by state over time; blocking trees (who blocks the sessions waiting on locks).",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.postgresConnections(request) },
            Route(
                path: "/api/monitoring/postgres/slow_queries",
                summary: "Slowest statements of the period (pg_stat_statements deltas), with plan and suggestion.",
                parameters: [.period, .host, .limit(default: 20, maximum: 500)],
                requiredKeys: ["period", "from", "to", "statements"]
            ) { api, request in try await api.postgresSlowQueries(request) },
            Route(
                path: "/api/monitoring/postgres/slow_queries/timeline",
                summary:
                    "The statements with the most execution time in the period, each with buckets (timestamp, calls, "
                    + "mean_ms) of step (default: about 12 under 6 h, then the hour, 6 h, the day).",
                parameters: [.period, RouteParameter.step, .host, .limit(default: 5, maximum: 20)],
                requiredKeys: ["period", "step", "from", "to", "statements"]
            ) { api, request in try await api.postgresSlowQueryTimeline(request) },
            Route(
                path: "/api/monitoring/postgres/pool",
                summary:
                    "The application's connection pools per host (StatsD gauges db.pool.size, db.pool.checked_out, "
                    + "db.pool.overflow; a pool tag names each): latest figures, usage_percent, problems, series.",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.postgresPool(request) },
            Route(
                path: "/api/monitoring/postgres/tables",
                summary:
                    "Latest table snapshot: rows, scans, sizes, vacuum; a partitioned table is one entry "
                    + "(partitioned, partitions: its leaf partitions' figures summed).",
                parameters: [.period, .host, .limit(default: 200, maximum: 1000)],
                requiredKeys: envelopeKeys
            ) { api, request in try await api.postgresTables(request) },
            Route(
                path: "/api/monitoring/postgres/indexes", summary: "Latest index snapshot: scans, size, unused flag.",
                parameters: [.period, .host, .limit(default: 200, maximum: 1000)],
                requiredKeys: envelopeKeys
            ) { api, request in try await api.postgresIndexes(request) },
            Route(
                path: "/api/monitoring/redis/status",
                summary: "Redis per host: memory, hit rate, keys, evictions, clients, flags.",
                parameters: [.period, .host], requiredKeys: envelopeKeys
            ) { api, request in try await api.redisStatus(request) },
            Route(
                path: "/api/monitoring/redis/stats",
                summary: "Redis series and per cache type hit rates (application cache.hit/cache.miss counters).",
                parameters: RouteParameter.range, requiredKeys: envelopeKeys
            ) { api, request in try await api.redisStats(request) },
            Route(
                path: "/api/monitoring/redis/keys",
                summary:
                    "Keys per cache type: count, without TTL, TTL distribution, and the application's hits, misses and "
                    + "hit rate per type over 15m, 1h and 6h (`hit_rates`).",
                parameters: [.period, .host], requiredKeys: envelopeKeys
            ) { api, request in try await api.redisKeys(request) },
            Route(
                path: "/api/monitoring/redis/top_keys",
                summary:
                    "Per host, the latest key walk's biggest keys (sampled MEMORY USAGE, `by_size`) and, under an LFU "
                    + "maxmemory-policy, the most used (OBJECT FREQ, `by_frequency`). Key names for admins only: a "
                    + "viewer gets each key's cache-type pattern or prefix mask (`names_hidden`).",
                parameters: [.period, .host], requiredKeys: envelopeKeys
            ) { api, request in try await api.redisTopKeys(request) },
            Route(
                path: "/api/monitoring/redis/slowlog", summary: "SLOWLOG entries, newest first.",
                parameters: [.period, .host, .limit(default: 50, maximum: 1000)], requiredKeys: ["period", "entries"]
            ) { api, request in try await api.redisSlowlog(request) },
            Route(
                path: "/api/monitoring/redis/commands",
                summary:
                    "Redis commands per host over the period (INFO commandstats), most time first: calls, seconds, "
                    + "microseconds per call and share of the server's command time.",
                parameters: [.period, .host, .limit(default: 20, maximum: 200)], requiredKeys: envelopeKeys
            ) { api, request in try await api.redisCommands(request) },
            Route(
                path: "/api/monitoring/metrics",
                summary:
                    "Per-endpoint API latency and errors (type=api; each endpoint's `source` says which input counted "
                    + "it: statsd, logs, mixed, or null when unknown), or per-host key values (system, redis, postgres).",
                parameters: [
                    .oneOf("type", ["api", "system", "redis", "postgres"], "Which signals.", required: true),
                    .period, .step, .host,
                    .oneOf("sort", ["p95", "errors", "rate"], "Endpoint order (type=api only)."),
                    .limit(default: 50, maximum: 1000, only: "type=api only"),
                ],
                requiredKeys: ["type", "period", "step", "from", "to"]
            ) { api, request in try await api.metrics(request) },
            Route(
                path: "/api/monitoring/logs", summary: "Log records, newest first, with a cursor to older ones.",
                parameters: RouteParameter.logFilters + [
                    .limit(default: 100, maximum: 1000),
                    RouteParameter(
                        name: "cursor", description: "next_cursor of the previous page.",
                        schema: .object([("type", "string"), ("pattern", "^[0-9]{1,19}-[0-9]{1,19}$")])),
                ],
                requiredKeys: ["since", "from", "to", "count", "next_cursor", "logs"]
            ) { api, request in try await api.logs(request) },
            Route(
                path: "/api/monitoring/logs/{id}",
                summary: "One log record whole (the list cuts nothing, but the dashboard row does), as /logs gives it.",
                pathParameters: [.logID],
                requiredKeys: ["id", "timestamp", "host", "service", "level", "event", "fields"]
            ) { api, request in try await api.logRecord(request) },
            Route(
                path: "/api/monitoring/traces",
                summary: "Traces with a span matching the filters (the same span), newest first, with a cursor.",
                parameters: RouteParameter.traceFilters + [
                    .limit(default: 50, maximum: 500),
                    RouteParameter(
                        name: "cursor", description: "next_cursor of the previous page.",
                        schema: .object([("type", "string"), ("pattern", "^[0-9]{1,19}-[0-9a-f]{32}$")])),
                ],
                requiredKeys: ["since", "from", "to", "count", "next_cursor", "traces"]
            ) { api, request in try await api.traces(request) },
            Route(
                path: "/api/monitoring/traces/{trace_id}",
                summary: "One trace's spans as a tree (depth first), with self times, the critical path and totals.",
                pathParameters: [.traceID],
                requiredKeys: ["trace_id", "start", "duration_ms", "span_count", "critical_path", "spans"]
            ) { api, request in try await api.trace(request) },
            Route(
                path: "/api/monitoring/logs/stream",
                summary: "Server-Sent Events of log records as they are stored; Last-Event-ID replays what was missed.",
                parameters: RouteParameter.logFilters + [
                    RouteParameter(
                        name: "last_event_id",
                        description: "Replay after this record id (or the Last-Event-ID header).",
                        schema: .object([("type", "integer"), ("minimum", 0)]))
                ],
                produces: ["text/event-stream"]
            ) { api, request in try await api.logStream(request) },
            Route(
                path: "/api/monitoring/export", summary: "Streamed export of samples, logs or events as CSV or JSON.",
                parameters: [
                    .oneOf("format", ["csv", "json"], "Output format (default json)."),
                    .duration("period", "How far back (default 24h)."),
                    .oneOf("type", ExportKind.allCases.map(\.rawValue), "What to export (default metrics)."),
                    .host,
                ],
                produces: ["application/json", "text/csv"], jsonArray: true, alsoAnswers: [429]
            ) { api, request in try await api.export(request) },
            Route(
                path: "/api/monitoring/reports",
                summary:
                    "The stored PDF reports (reports.daily / reports.weekly), newest period first: kind, period, host, size and e-mail delivery; no PDF bytes.",
                parameters: [.limit(default: 50, maximum: 1000)],
                requiredKeys: ["count", "schedules", "reports"]
            ) { api, request in try await api.reports(request) },
            Route(
                path: "/api/monitoring/reports/{id}.pdf",
                summary: "One stored report's PDF, as an attachment.",
                pathParameters: [.reportID],
                produces: ["application/pdf"]
            ) { api, request in try await api.reportPDF(request) },
        ] + dashboardRoutes).map(RouteParameter.withRangeVocabulary)

    /// `GET /openapi.json` — the OpenAPI 3.0 description of every route.
    func openAPIDocument(_ request: Request) throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        return .json(OpenAPI.document(Self.routes, metricsNeedToken: settings.metricsRequireToken))
    }
}
