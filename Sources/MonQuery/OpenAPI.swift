import MonCore
import MonQueryKit

/// Builds the OpenAPI 3.0 document of `/openapi.json` from the route table.
enum OpenAPI {
    static func document(_ routes: [Route], metricsNeedToken: Bool) -> JSONValue {
        let error: JSONValue = .object([
            ("type", "object"), ("required", ["error"]),
            (
                "properties",
                .object([
                    (
                        "error",
                        .object([
                            ("type", "object"), ("required", ["code", "message"]),
                            (
                                "properties",
                                .object([
                                    ("code", .object([("type", "string")])), ("message", .object([("type", "string")])),
                                ])
                            ),
                        ])
                    )
                ])
            ),
        ])
        return .object([
            ("openapi", "3.0.3"),
            (
                "info",
                .object([
                    ("title", "monquery"),
                    ("version", "1"),
                    (
                        "description",
                        .string(
                            "MnemoLite monitoring API. Everything under /api needs 'Authorization: Bearer <token>' "
                                + "(viewer or admin; logs and exports need admin). Errors are {\"error\": {\"code\", \"message\"}}; "
                                + "unknown or repeated query parameters are refused with 400. The dashboard under /ui "
                                + "(HTML) needs an admin session from POST /ui/login, or an admin bearer token.")
                    ),
                ])
            ),
            ("paths", .object(paths(routes, metricsNeedToken))),
            (
                "components",
                .object([
                    (
                        "securitySchemes",
                        .object([
                            ("bearer", .object([("type", "http"), ("scheme", "bearer")])),
                            (
                                "session",
                                .object([
                                    ("type", "apiKey"), ("in", "cookie"), ("name", .string(API.sessionCookie)),
                                    ("description", "Dashboard session from POST /ui/login (admin token)."),
                                ])
                            ),
                        ])
                    ),
                    ("schemas", .object([("Error", error)])),
                ])
            ),
        ])
    }

    /// One entry per path, with an operation per method, in the table's order.
    static func paths(_ routes: [Route], _ metricsNeedToken: Bool) -> [(String, JSONValue)] {
        var order: [String] = []
        var operations: [String: [(String, JSONValue)]] = [:]
        for route in routes {
            if operations[route.path] == nil { order.append(route.path) }
            operations[route.path, default: []].append(
                (route.method.rawValue.lowercased(), operation(route, metricsNeedToken)))
        }
        return order.map { ($0, .object(operations[$0] ?? [])) }
    }

    static func operation(_ route: Route, _ metricsNeedToken: Bool) -> JSONValue {
        let secured = !route.access.isOpen(metricsRequireToken: metricsNeedToken)
        // A route that produces nothing only redirects (`/`).
        var responses: [(String, JSONValue)] = route.produces.isEmpty ? [] : [("200", success(route))]
        let errorBody = reference("#/components/schemas/Error")
        func add(_ status: Int, _ description: String) {
            responses.append(
                (
                    String(status),
                    .object([
                        ("description", .string(description)),
                        ("content", .object([("application/json", .object([("schema", errorBody)]))])),
                    ])
                ))
        }
        add(
            400,
            "A parameter is malformed, unknown or repeated, or the path is not canonical (empty or dot segments, % escapes, control or non-ASCII bytes); the message names it."
        )
        add(414, "The request target is longer than 8 KiB (or its path than 2 KiB).")
        func page(_ status: Int, _ description: String) {
            responses.append(
                (
                    String(status),
                    .object([
                        ("description", .string(description)),
                        ("content", .object([("text/html", .object([("schema", .object([("type", "string")]))]))])),
                    ])
                ))
        }
        if route.access == .session {
            responses.append(
                ("303", .object([("description", "No valid session: redirect to /ui/login?next=… (the login form).")])))
            page(403, "The token's role is viewer; the dashboard needs admin.")
        } else if route.produces.isEmpty {
            responses.append(("303", .object([("description", .string("Redirect to \(API.dashboardHome)."))])))
        } else if route.path == "/ui/login" {
            responses.append(
                (
                    "303",
                    .object([("description", "Logged in (or authentication is off): redirect to next.")])
                ))
            if route.method == .post {
                page(401, "The token is not valid: the form again, with the reason.")
                page(403, "The token's role is viewer; the dashboard needs admin.")
            }
        } else if secured {
            add(401, "No token, or not a valid one.")
        }
        if route.access == .admin { add(403, "The token's role is viewer; this endpoint needs admin.") }
        let throttled = "too many failed credentials from this address: retry after Retry-After seconds"
        if route.path.hasPrefix("/ui/") {
            // The throttle answers the dashboard with a page; a busy export with the JSON error.
            var content: [(String, JSONValue)] = [("text/html", .object([("schema", .object([("type", "string")]))]))]
            if route.alsoAnswers.contains(429) {
                content.append(("application/json", .object([("schema", errorBody)])))
            }
            responses.append(
                (
                    "429",
                    .object([
                        (
                            "description",
                            .string(
                                (route.alsoAnswers.contains(429) ? "Too many exports running (JSON), or " : "")
                                    + throttled + " (page).")
                        ),
                        ("content", .object(content)),
                    ])
                ))
        } else {
            add(429, (route.alsoAnswers.contains(429) ? "Too many exports running, or " : "") + throttled + ".")
        }
        for status in route.alsoAnswers where status == 404 { add(404, "Switched off in the configuration.") }
        if !route.pathParameters.isEmpty {
            let names = route.pathParameters.map(\.name).joined(separator: ", ")
            let missing = "Nothing stored has this \(names) (never received, or past retention)."
            if route.produces == ["text/html"] { page(404, missing) } else { add(404, missing) }
        }
        if route.path == "/health/detailed" {
            responses.append(("503", success(route, description: "Unhealthy: which check failed, and why.")))
        } else if route.produces == ["text/event-stream"] {
            add(
                503,
                "The metrics database is unavailable, or http.max_stream_subscribers streams are open (Retry-After).")
        } else if route.path.hasPrefix("/api/") || route.path.hasPrefix("/ui/monitoring/") {
            add(503, "The metrics database is unavailable, or too many connections are open (Retry-After).")
        } else {
            add(503, "Too many connections are open (http.max_connections): retry after Retry-After seconds.")
        }
        let path = route.path.split(separator: "/").joined(separator: "_")
        var body: [(String, JSONValue)] = []
        if !route.formFields.isEmpty {
            let schema: JSONValue = .object([
                ("type", "object"),
                ("required", .array(route.formFields.filter(\.required).map { .string($0.name) })),
                ("properties", .object(route.formFields.map { ($0.name, $0.schema) })),
                ("additionalProperties", false),
            ])
            body = [
                (
                    "requestBody",
                    .object([
                        ("required", true),
                        ("content", .object([("application/x-www-form-urlencoded", .object([("schema", schema)]))])),
                    ])
                )
            ]
        }
        let security: JSONValue =
            route.access == .session
            ? [.object([("session", [])]), .object([("bearer", [])])] : secured ? [.object([("bearer", [])])] : []
        return .object(
            [
                (
                    "operationId",
                    .string(route.method.rawValue.lowercased() + "_" + path.replacingOccurrences(of: ".", with: "_"))
                ),
                ("summary", .string(route.summary)),
                (
                    "parameters",
                    .array(
                        route.pathParameters.map { parameter -> JSONValue in
                            .object([
                                ("name", .string(parameter.name)), ("in", "path"), ("required", true),
                                ("description", .string(parameter.description)), ("schema", parameter.schema),
                            ])
                        }
                            + route.parameters.map { parameter -> JSONValue in
                                .object([
                                    ("name", .string(parameter.name)), ("in", "query"),
                                    ("required", .bool(parameter.required)),
                                    ("description", .string(parameter.description)), ("schema", parameter.schema),
                                ])
                            })
                ),
                ("security", security),
                ("responses", .object(responses)),
            ] + body)
    }

    static func success(_ route: Route, description: String = "OK") -> JSONValue {
        let content: [(String, JSONValue)] = route.produces.map { type in
            let schema: JSONValue =
                type == "application/json" && route.jsonArray
                ? .object([("type", "array"), ("items", .object([("type", "object")]))])
                : type == "application/json"
                    ? .object(
                        [("type", "object")]
                            + (route.requiredKeys.isEmpty
                                ? [] : [("required", .array(route.requiredKeys.map { .string($0) }))])
                    )
                    : type == "application/pdf"
                        ? .object([("type", "string"), ("format", "binary")]) : .object([("type", "string")])
            return (type, .object([("schema", schema)]))
        }
        return .object([("description", .string(description)), ("content", .object(content))])
    }

    static func reference(_ target: String) -> JSONValue { .object([("$ref", .string(target))]) }
}
