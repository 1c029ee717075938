import Hummingbird
import MonCore
import MonQueryKit

extension RouteParameter {
    static let fragment = RouteParameter(
        name: "fragment",
        description:
            "Only this element of the page (for HTMX hx-get); the fragments of each page are listed in README.md.",
        schema: .object([("type", "string"), ("pattern", "^[a-z-]{1,40}$")]))
    static let dashboardPeriod = RouteParameter(
        name: "period",
        description:
            "How far back the charts and tables go, 1m to 30d (default 1h; empty: the default, a form's blank field); "
            + "or from/to (UTC), 1m to 30d apart.",
        schema: .object([("type", "string"), ("pattern", .string("^$|" + durationPattern))]))
    static let dashboard = [dashboardPeriod, host, fragment]

    /// The trace list page's filter form: a blank field is no filter.
    static let traceFormFilters = [
        optionalText("service", maxBytes: 1024, "Only traces with a span of this service"),
        optionalText("name", maxBytes: 1024, "Only traces with a span of this name"),
        RouteParameter(
            name: "min_duration_ms",
            description: "Only traces with a span lasting at least this (ms, 0-86400000; empty: no filter).",
            schema: .object([
                (
                    "anyOf",
                    .array([
                        .object([("type", "number"), ("minimum", 0), ("maximum", 86_400_000)]),
                        .object([("type", "string"), ("enum", .array([""]))]),
                    ])
                )
            ])),
        oneOf("status", ["", "error"], "Only traces with a span whose status is error (empty: any status)."),
    ]

    /// A filter field of a form: empty means no filter.
    static func optionalText(_ name: String, maxBytes: Int, _ description: String) -> RouteParameter {
        RouteParameter(
            name: name,
            description: "\(description) (empty: no filter; at most \(maxBytes) bytes, no control characters).",
            schema: .object([
                ("type", "string"), ("maxLength", .number(Double(maxBytes))),
                ("pattern", "^[^\\u0000-\\u001f\\u007f]*$"),
            ]))
    }
    static let next = RouteParameter(
        name: "next", description: "Where to go after login: a path under /ui/ (default /ui/monitoring/advanced).",
        schema: .object([("type", "string"), ("pattern", .string(API.nextPattern))]))
}

extension API {
    /// The built-in dashboard (issue 8): pages, their fragments, login, and the two API
    /// handlers it needs behind its session cookie (the log stream and the export).
    static let dashboardRoutes: [Route] = [
        // Only a redirect: open, as it carries nothing; the page it names asks for its session.
        Route(
            path: "/", summary: "Redirects (303) to the dashboard, /ui/monitoring/advanced.", produces: [],
            alsoAnswers: [303]
        ) { api, request in try api.home(request) },
        Route(
            path: "/ui/login", summary: "Dashboard login form (admin token).", parameters: [.next],
            produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try api.loginForm(request) },
        Route(
            path: "/ui/login", method: .post,
            summary:
                "Checks an admin token; sets the session cookie (HttpOnly, SameSite=Strict, Path=/ui) and redirects.",
            produces: ["text/html"], alsoAnswers: [303],
            formFields: [
                RouteParameter(
                    name: "token", description: "An admin API token.",
                    schema: .object([("type", "string"), ("minLength", 1), ("maxLength", 4096)]), required: true),
                .next,
            ]
        ) { api, request in try await api.login(request) },
        Route(
            path: "/ui/logout", method: .post, summary: "Ends the dashboard session and clears its cookie.",
            produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try api.logout(request) },
        Route(
            path: "/ui/assets/dashboard.css", summary: "The dashboard's style sheet.", produces: ["text/css"]
        ) { api, request in try api.asset(request) },
        Route(
            path: "/ui/assets/dashboard.js", summary: "The dashboard's script (refresh, pause, live logs).",
            produces: ["text/javascript"]
        ) { api, request in try api.asset(request) },
        Route(
            path: "/ui/monitoring/advanced",
            summary: "Dashboard: summary cards, alerts, latency by endpoint, Redis hit rate, slow queries, live logs.",
            parameters: RouteParameter.dashboard, produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try await api.dashboardAdvanced(request) },
        Route(
            path: "/ui/monitoring/api",
            summary: "Dashboard: API latency, traffic, P95 heatmap (hour × endpoint), errors per endpoint.",
            parameters: RouteParameter.dashboard + [
                .oneOf(
                    "sort", EndpointSort.allCases.map(\.rawValue),
                    "Endpoint table order: slowest P95, most 5xx or most requests first (default p95).")
            ],
            produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try await api.dashboardAPI(request) },
        Route(
            path: "/ui/monitoring/redis", summary: "Dashboard: Redis hit rate, memory, evictions, SLOWLOG.",
            parameters: RouteParameter.dashboard, produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try await api.dashboardRedis(request) },
        Route(
            path: "/ui/monitoring/traces",
            summary: "Dashboard: traces with a span matching the filters, newest first, each linking its waterfall.",
            parameters: [RouteParameter.dashboardPeriod, .host] + RouteParameter.traceFormFilters,
            produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try await api.dashboardTraces(request) },
        Route(
            path: "/ui/monitoring/traces/{trace_id}",
            summary: "Dashboard: one trace as an SVG waterfall (critical path outlined, spans coloured by kind).",
            parameters: [RouteParameter.dashboardPeriod, .host], pathParameters: [.traceID], produces: ["text/html"],
            alsoAnswers: [303]
        ) { api, request in try await api.dashboardTrace(request) },
        Route(
            path: "/ui/monitoring/postgres",
            summary: "Dashboard: PostgreSQL cache hit, connections, slow queries with plans, tables, indexes.",
            parameters: RouteParameter.dashboard, produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try await api.dashboardPostgres(request) },
        Route(
            path: "/ui/monitoring/logs", summary: "Dashboard: live logs with filters and CSV export.",
            parameters: RouteParameter.dashboard + [
                .oneOf("level", [""] + LogLevel.parameterNames, "This level and above (empty: any)."),
                .optionalText("service", maxBytes: 200, "Only records of this service"),
                .optionalText("q", maxBytes: 500, "Full-text search: words, \"phrases\", -excluded"),
                .optionalText("trace_id", maxBytes: 200, "Only records of this trace (the trace page links here)"),
            ],
            produces: ["text/html"], alsoAnswers: [303]
        ) { api, request in try await api.dashboardLogs(request) },
        Route(
            path: "/ui/monitoring/logs/stream",
            summary: "The log stream of /api/monitoring/logs/stream for the dashboard's session.",
            parameters: RouteParameter.logFilters + [
                RouteParameter(
                    name: "last_event_id", description: "Replay after this record id (or the Last-Event-ID header).",
                    schema: .object([("type", "integer"), ("minimum", 0)]))
            ],
            produces: ["text/event-stream"], alsoAnswers: [303]
        ) { api, request in try await api.logStream(request) },
        Route(
            path: "/ui/monitoring/logs/{id}",
            summary: "One log record whole, as /api/monitoring/logs/{id}, for the dashboard's session (a row's JSON).",
            pathParameters: [.logID], produces: ["application/json"], alsoAnswers: [303]
        ) { api, request in try await api.logRecord(request) },
        Route(
            path: "/ui/monitoring/export",
            summary: "The export of /api/monitoring/export for the dashboard's session (its CSV link).",
            parameters: [
                .oneOf("format", ["csv", "json"], "Output format (default json)."),
                .duration("period", "How far back (default 24h)."),
                .oneOf("type", ExportKind.allCases.map(\.rawValue), "What to export (default metrics)."),
                .host,
            ],
            produces: ["application/json", "text/csv"], jsonArray: true, alsoAnswers: [303, 429]
        ) { api, request in try await api.export(request) },
    ]
}
