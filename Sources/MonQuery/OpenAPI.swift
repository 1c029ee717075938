import MonCore

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
                                + "unknown or repeated query parameters are refused with 400.")
                    ),
                ])
            ),
            ("paths", .object(routes.map { ($0.path, .object([("get", operation($0, metricsNeedToken))])) })),
            (
                "components",
                .object([
                    ("securitySchemes", .object([("bearer", .object([("type", "http"), ("scheme", "bearer")]))])),
                    ("schemas", .object([("Error", error)])),
                ])
            ),
        ])
    }

    static func operation(_ route: Route, _ metricsNeedToken: Bool) -> JSONValue {
        let secured: Bool
        switch route.access {
        case .open: secured = false
        case .scrape: secured = metricsNeedToken
        case .viewer, .admin: secured = true
        }
        var responses: [(String, JSONValue)] = [("200", success(route))]
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
        add(400, "A parameter is malformed, unknown or repeated; the message names it.")
        if secured { add(401, "No token, or not a valid one.") }
        if route.access == .admin { add(403, "The token's role is viewer; this endpoint needs admin.") }
        for status in route.alsoAnswers where status == 429 { add(429, "Too many exports running; retry later.") }
        for status in route.alsoAnswers where status == 404 { add(404, "Switched off in the configuration.") }
        if route.path == "/health/detailed" {
            responses.append(("503", success(route, description: "Unhealthy: which check failed, and why.")))
        } else if route.path.hasPrefix("/api/") {
            add(503, "The metrics database is unavailable.")
        }
        let path = route.path.split(separator: "/").joined(separator: "_")
        return .object([
            ("operationId", .string("get_" + path.replacingOccurrences(of: ".", with: "_"))),
            ("summary", .string(route.summary)),
            (
                "parameters",
                .array(
                    route.parameters.map { parameter in
                        .object([
                            ("name", .string(parameter.name)), ("in", "query"),
                            ("required", .bool(parameter.required)),
                            ("description", .string(parameter.description)), ("schema", parameter.schema),
                        ])
                    })
            ),
            ("security", secured ? [.object([("bearer", [])])] : []),
            ("responses", .object(responses)),
        ])
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
                    : .object([("type", "string")])
            return (type, .object([("schema", schema)]))
        }
        return .object([("description", .string(description)), ("content", .object(content))])
    }

    static func reference(_ target: String) -> JSONValue { .object([("$ref", .string(target))]) }
}
