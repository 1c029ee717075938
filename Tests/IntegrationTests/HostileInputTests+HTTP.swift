import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

@testable import MonQuery

/// HTTP access control against a running daemon with viewer and admin tokens and
/// `prometheus.require_token: true` (issue 18, "Access control that cannot be sidestepped"):
/// the issue's table, non-canonical targets × every protected route, `/health/detailed`
/// redaction, viewer truncation inside plans and SLOWLOG, credential throttling. Requests go
/// through `RawHTTP`, which sends targets byte for byte (no client-side normalisation).
extension HostileInputTests {
    /// Markers of data a refused request must never carry back.
    static let hostileHost = "hostile-http-host"
    static let hostileLogEvent = "hostile-secret-event"

    /// A daemon with tokens and `require_token`, and an agent shipping samples and log lines.
    static func protectedSystem(extra: [String: String] = [:]) async throws -> (
        Daemon, ManagedProcess, ManagedProcess
    ) {
        let daemon = try Daemon.make(authenticated: true)
        let monquery = try daemon.start(extra: ["MONQUERY_PROMETHEUS_REQUIRE_TOKEN": "true"].merging(extra) { $1 })
        let logPath = "\(daemon.directory)/app.log"
        try (#"{"event":"\#(hostileLogEvent)","level":"error","service":"svc"}"# + "\n")
            .write(toFile: logPath, atomically: true, encoding: .utf8)
        let agent = try daemon.startAgent(
            interval: 0.5, host: hostileHost, agentID: "hostile-agent",
            extra: ["MONAGENT_LOG_PATHS": logPath, "MONAGENT_LOGS_START_AT": "beginning"])
        _ = try await eventually("samples and a log line stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs") >= 1 && daemon.scalar("SELECT count(*) FROM metrics") > 0
                ? true : nil
        }
        return (daemon, monquery, agent)
    }

    static func fetch(
        _ daemon: Daemon, _ target: [UInt8], method: String = "GET", token: String? = nil, source: String? = nil
    ) async throws -> RawHTTP.Response {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        return try await offPool {
            try RawHTTP.fetch(port: daemon.httpPort, target, method: method, headers: headers, source: source)
        }
    }

    static func fetch(
        _ daemon: Daemon, _ target: String, method: String = "GET", token: String? = nil, source: String? = nil
    ) async throws -> RawHTTP.Response {
        try await fetch(daemon, Array(target.utf8), method: method, token: token, source: source)
    }

    @Test("the issue's table: one extra slash never opens a protected route")
    func issueTable() async throws {
        let (daemon, monquery, agent) = try await Self.protectedSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let tokens = try #require(daemon.tokens)
        let rows: [(String, String?, Int)] = [
            ("/api/monitoring/logs", nil, 401),
            ("//api/monitoring/logs", nil, 400),
            ("//api/monitoring/export?type=logs&period=1h", nil, 400),
            ("//api/monitoring/system/cpu", nil, 400),
            ("//metrics", nil, 400),
            ("/metrics", nil, 401),
            ("//ui/monitoring/advanced", nil, 400),
            ("/ui/monitoring/advanced", nil, 303),
            ("/api//monitoring/logs", tokens.viewer, 400),
            ("/api/monitoring/logs", tokens.viewer, 403),
            ("/api/monitoring/logs", tokens.admin, 200),
            ("/metrics", tokens.viewer, 200),
        ]
        for (target, token, expected) in rows {
            let response = try await Self.fetch(daemon, target, token: token)
            #expect(response.status == expected, "\(target) with \(token == nil ? "no token" : "a token")")
            if expected != 200 {
                #expect(!response.body.contains(Self.hostileLogEvent) && !response.body.contains(Self.hostileHost))
            }
            if expected == 400 {
                #expect(response.body.contains("\"empty_segment\""), "\(target): \(response.body)")
            }
        }
        let login = try await Self.fetch(daemon, "/ui/monitoring/advanced")
        #expect(login.headers["location"]?.hasPrefix("/ui/login?next=") == true)
    }

    /// Tricky spellings of `path`: what lax routers normalise, escapes, control bytes, query
    /// and fragment tricks, other request-target forms, over-long targets.
    static func variants(_ path: String) -> [(String, [UInt8])] {
        let segments = path.split(separator: "/").map(String.init)
        let first = segments[0]
        let rest = segments.dropFirst().joined(separator: "/")
        let tail = rest.isEmpty ? "" : "/" + rest
        let hex = String(format: "%%%02X", first.utf8.first!)
        let inner = rest.isEmpty ? path + "//" : "/" + first + "//" + rest
        let encodedSlash = rest.isEmpty ? path + "%2F" : "/" + first + "%2F" + rest
        let lowerEncodedSlash = rest.isEmpty ? path + "%2f" : "/" + first + "%2f" + rest
        let capitalised = "/" + first.prefix(1).uppercased() + first.dropFirst() + tail
        var text: [(String, String)] = []
        text.append(("leading //", "/" + path))
        text.append(("leading ///", "//" + path))
        text.append(("inner //", inner))
        text.append(("trailing /", path + "/"))
        text.append(("trailing //", path + "//"))
        text.append(("leading /.", "/." + path))
        text.append(("inner /./", "/" + first + "/." + tail))
        text.append(("trailing /.", path + "/."))
        text.append(("/x/..", "/x/.." + path))
        text.append(("inner ..", "/" + first + "/../" + first + tail))
        text.append(("trailing /..", path + "/.."))
        text.append(("%2e", "/%2e" + path))
        text.append(("%2E%2E", "/%2E%2E" + path))
        text.append(("%2F", encodedSlash))
        text.append(("%2f", lowerEncodedSlash))
        text.append(("%61pi", "/" + hex + first.dropFirst() + tail))
        text.append(("upper first segment", "/" + first.uppercased() + tail))
        text.append(("all upper", path.uppercased()))
        text.append(("capitalised", capitalised))
        text.append(("%00", path + "%00"))
        text.append((";params", path + ";params"))
        text.append(("inner ;params", "/" + first + ";x=1" + tail))
        text.append(("#frag", path + "#frag"))
        text.append(("?a=1&a=2", path + "?a=1&a=2"))
        text.append(("?%00", path + "?%00"))
        text.append(("trailing backslash", path + "\\"))
        text.append(("backslashes", path.replacingOccurrences(of: "/", with: "\\")))
        text.append(("absolute form", "http://127.0.0.1" + path))
        text.append(("absolute form //", "http://127.0.0.1/" + path))
        text.append(("relative", String(path.dropFirst())))
        text.append(("long path", path + "/" + String(repeating: "a", count: 3000)))
        text.append(("long query", path + "?" + String(repeating: "a", count: 9000)))
        text.append(("%20", path + "%20"))
        text.append(("overlong UTF-8 /", "/%c0%af" + path.dropFirst()))
        text.append(("last segment twice", path + "/" + segments[segments.count - 1]))
        text.append(("inner %2e%2e", "/" + first + "/%2e%2e/" + first + tail))
        text.append(("trailing /./", path + "/./"))
        text.append(("?#", path + "?#"))
        text.append(("; before ?", path + ";?a=1"))
        text.append(("?x=RTL", path + "?x=%E2%80%AE"))
        text.append(("inner /./ then rest", "/" + first + "/./" + rest))
        text.append(("double dot dot", path + "/../.."))
        var bytes: [(String, [UInt8])] = text.map { ($0.0, Array($0.1.utf8)) }
        let raw = Array(path.utf8)
        for (name, byte) in [("NUL", UInt8(0)), ("tab", 9), ("DEL", 0x7F), ("CR", 13), ("0xFF", 0xFF)] {
            bytes.append((name, raw + [byte]))
        }
        bytes.append(("é", raw + Array("é".utf8)))
        return bytes
    }

    @Test("48 non-canonical and tricky targets × every protected route: 400/401/403/404/405/414, never data")
    func nonCanonicalTargets() async throws {
        let (daemon, monquery, agent) = try await Self.protectedSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let tokens = try #require(daemon.tokens)
        let protected = API.routes.filter { !$0.access.isOpen(metricsRequireToken: true) }
        #expect(protected.count >= 30, "every protected route of the table")
        #expect(protected.contains { $0.path == "/metrics" } && protected.contains { $0.path.hasPrefix("/ui/") })
        var requests = 0
        var seen: [Int: Int] = [:]
        for route in protected {
            let variants = Self.variants(RouteCatalogue.example(route.path))
            #expect(variants.count >= 40)
            // Without a token everything; with a viewer token the admin routes too.
            let credentials: [String?] = route.access == .admin ? [nil, tokens.viewer] : [nil]
            for (name, target) in variants {
                for token in credentials {
                    let response = try await Self.fetch(daemon, target, method: route.method.rawValue, token: token)
                    requests += 1
                    seen[response.status, default: 0] += 1
                    let what = "\(route.method.rawValue) \(route.path) [\(name)]\(token == nil ? "" : " viewer")"
                    var allowed: Set<Int> = [400, 401, 403, 404, 405, 414, 431]
                    if route.access == .session { allowed.insert(303) }
                    #expect(
                        allowed.contains(response.status), "\(what): \(response.status) \(response.body.prefix(200))")
                    if response.status == 303 {
                        #expect(response.headers["location"]?.hasPrefix("/ui/login") == true, "\(what)")
                    }
                    #expect(
                        !response.body.contains(Self.hostileHost) && !response.body.contains(Self.hostileLogEvent),
                        "\(what) carried data")
                }
            }
        }
        #expect(requests > 1400)
        #expect(seen[400, default: 0] > 1000, "\(seen)")
        #expect(monquery.isRunning)
        // Still serving the legitimate spelling.
        #expect(try await Self.fetch(daemon, "/api/monitoring/system/cpu", token: tokens.viewer).status == 200)
        let metrics = try await Self.fetch(daemon, "/metrics", token: tokens.viewer).body
        #expect(Self.sample(metrics, "mon_query_http_refused_total{reason=\"non_canonical_target\"}") ?? 0 > 1000)
        #expect(Self.sample(metrics, "mon_query_http_refused_total{reason=\"target_too_long\"}") ?? 0 >= 60)
    }

    @Test("every canonical route on the live daemon gets the rule of RouteCatalogue, per role")
    func routeRules() async throws {
        let (daemon, monquery, agent) = try await Self.protectedSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let tokens = try #require(daemon.tokens)
        for route in API.routes where route.produces != ["text/event-stream"] && route.method == .get {
            let anonymous = try await Self.fetch(daemon, RouteCatalogue.example(route.path)).status
            let viewer = try await Self.fetch(daemon, RouteCatalogue.example(route.path), token: tokens.viewer).status
            switch route.access {
            case .open, .login:
                #expect(anonymous == 200 || anonymous == 303, "\(route.path): \(anonymous)")
            case .scrape, .viewer:
                #expect(anonymous == 401 && viewer != 401 && viewer != 403, "\(route.path): \(anonymous) \(viewer)")
            case .admin:
                #expect(anonymous == 401 && viewer == 403, "\(route.path): \(anonymous) \(viewer)")
            case .session:
                #expect(anonymous == 303 && viewer == 403, "\(route.path): \(anonymous) \(viewer)")
            }
        }
    }

    @Test("/health/detailed: statuses only without a valid token; the full document with one")
    func healthDetailedRedaction() async throws {
        let (daemon, monquery, agent) = try await Self.protectedSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let tokens = try #require(daemon.tokens)
        _ = try await eventually("the agent in the full document") { () -> Bool? in
            try await Self.fetch(daemon, "/health/detailed", token: tokens.viewer).body.contains(Self.hostileHost)
                ? true : nil
        }
        for token in [nil, "not-a-token"] {
            let response = try await Self.fetch(daemon, "/health/detailed", token: token)
            #expect(response.status == 200)
            let body = try #require(
                try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
            #expect(Set(body.keys) == ["status", "checked", "checks", "redacted"])
            let checks = try #require(body["checks"] as? [String: [String: Any]])
            #expect(Set(checks.keys).isSuperset(of: ["postgres", "ingest", "memory", "agents", "disk"]))
            for (name, check) in checks { #expect(Array(check.keys) == ["status"], "\(name): \(check)") }
            for secret in [Self.hostileHost, "hostile-agent", "path", "resident", daemon.directory] {
                #expect(!response.body.contains(secret), "\(secret) shown without a token")
            }
        }
        let full = try await Self.fetch(daemon, "/health/detailed", token: tokens.viewer)
        #expect(full.body.contains(Self.hostileHost) && full.body.contains("hostile-agent"))
        #expect(!full.body.contains("\"redacted\""))
        // /health stays open and the wrong token above was counted.
        #expect(try await Self.fetch(daemon, "/health").status == 200)
        let metrics = try await Self.fetch(daemon, "/metrics", token: tokens.viewer).body
        #expect(Self.sample(metrics, "mon_query_auth_failures_total{kind=\"bearer\"}") == 1)
    }

    @Test("viewers never see plans, plan errors, suggestions, full statements or SLOWLOG arguments")
    func viewerTruncation() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        try await writer.maintainPartitions(aheadDays: 2, nowMs: now)
        // The first 40 characters (what a viewer sees) name nothing sensitive; the rest does.
        let statement =
            "SELECT id, name, created_at FROM customers WHERE customer_secret_column = $1 AND password_hash = $2"
        let plan =
            #"[{"Plan":{"Node Type":"Seq Scan","Relation Name":"customers","Output":["customer_secret_column"],"Filter":"((email = $1) AND (password_hash = $2))"}}]"#
        let events = [
            Event(
                kind: "pg_statement", key: "1:42", timestampMs: now - 60_000,
                payload: .object([
                    ("queryid", "42"), ("database", "app"), ("calls", 10), ("total_exec_ms", 5000),
                    ("mean_exec_ms", 500), ("rows", 10), ("query", .string(statement)),
                ])),
            Event(
                kind: "pg_plan", key: "1:42", timestampMs: now - 60_000,
                payload: .object([
                    ("queryid", "42"), ("plan", .string(plan)),
                    (
                        "suggestions",
                        [
                            .object([
                                ("table", "customers"), ("columns", ["password_hash"]), ("kind", "btree_index"),
                                ("reason", "filtering on password_hash"),
                                ("sql", "CREATE INDEX CONCURRENTLY ON customers (password_hash);"),
                            ])
                        ]
                    ),
                ])),
            Event(
                kind: "redis_slowlog", key: "7", timestampMs: now - 60_000,
                payload: .object([
                    ("id", 7), ("duration_us", 20_000), ("command", "SET"),
                    ("arguments", ["SET", "session:alice", "s3cr3t-session-value"]),
                    ("client_address", "10.0.0.5:4000"),
                    ("client_name", ""),
                ])),
        ]
        let batch = Batch(seq: 1, createdMs: now, samples: [], events: events)
        _ = try await writer.store(batch, from: AgentIdentity(agentID: "t", host: "db-1", bootID: "b"), nowMs: now)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the daemon answers") { try? await Self.fetch(daemon, "/health") }

        let viewerQueries = try await Self.fetch(daemon, "/api/monitoring/postgres/slow_queries", token: tokens.viewer)
        #expect(viewerQueries.status == 200)
        for hidden in ["password_hash", "customer_secret_column", "Seq Scan", "CREATE INDEX"] {
            #expect(!viewerQueries.body.contains(hidden), "\(hidden) shown to a viewer: \(viewerQueries.body)")
        }
        let viewerJSON = try #require(
            try JSONSerialization.jsonObject(with: Data(viewerQueries.body.utf8)) as? [String: Any])
        let row = try #require((viewerJSON["statements"] as? [[String: Any]])?.first)
        #expect(row["plan_hidden"] as? Bool == true && row["query_truncated"] as? Bool == true)
        #expect((row["query"] as? String)?.count == API.viewerQueryCharacters + 1)
        let adminQueries = try await Self.fetch(daemon, "/api/monitoring/postgres/slow_queries", token: tokens.admin)
        #expect(adminQueries.body.contains("password_hash") && adminQueries.body.contains("Seq Scan"))
        #expect(adminQueries.body.contains("CREATE INDEX CONCURRENTLY ON customers"))

        let viewerSlowlog = try await Self.fetch(daemon, "/api/monitoring/redis/slowlog", token: tokens.viewer)
        #expect(viewerSlowlog.status == 200)
        #expect(!viewerSlowlog.body.contains("session:alice") && !viewerSlowlog.body.contains("s3cr3t-session-value"))
        let entry = try #require(
            ((try JSONSerialization.jsonObject(with: Data(viewerSlowlog.body.utf8)) as? [String: Any])?["entries"]
                as? [[String: Any]])?.first)
        #expect(entry["arguments"] as? [String] == ["SET"] && entry["arguments_hidden"] as? Double == 2)
        let adminSlowlog = try await Self.fetch(daemon, "/api/monitoring/redis/slowlog", token: tokens.admin)
        #expect(adminSlowlog.body.contains("s3cr3t-session-value"))
        // Nor anywhere else a viewer can read.
        for path in ["/api/monitoring/metrics/summary", "/api/monitoring/metrics?type=postgres"] {
            let body = try await Self.fetch(daemon, path, token: tokens.viewer).body
            #expect(!body.contains("password_hash") && !body.contains("s3cr3t"), "\(path)")
        }
    }

    @Test("failed bearer tokens and logins: 401, then 429 with Retry-After per client address, counted")
    func credentialThrottling() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        let monquery = try daemon.start(extra: ["MONQUERY_AUTH_MAX_FAILURES_PER_MINUTE": "3"])
        defer { monquery.stop() }
        _ = try await eventually("the daemon answers") { try? await Self.fetch(daemon, "/health") }
        let guesser = "127.0.0.2"
        for attempt in 1...3 {
            let response = try await Self.fetch(
                daemon, "/api/monitoring/logs", token: "guess-\(attempt)", source: guesser)
            #expect(response.status == 401)
        }
        for token in ["guess-4", tokens.admin] {
            let response = try await Self.fetch(daemon, "/api/monitoring/logs", token: token, source: guesser)
            #expect(response.status == 429, "throttled whatever the token: no oracle")
            #expect(Int(response.headers["retry-after"] ?? "").map { $0 >= 1 && $0 <= 60 } == true)
            #expect(response.body.contains("\"throttled\""))
        }
        // A forwarded-for header does not change who the daemon counts (the socket's peer).
        let spoofed = try await offPool {
            try RawHTTP.fetch(
                port: daemon.httpPort, "/api/monitoring/logs",
                headers: [("Authorization", "Bearer \(tokens.admin)"), ("X-Forwarded-For", "198.51.100.7")],
                source: guesser)
        }
        #expect(spoofed.status == 429)
        // Another address is not affected; requests without a credential are not throttled.
        #expect(try await Self.fetch(daemon, "/api/monitoring/logs", token: tokens.admin).status == 200)
        #expect(try await Self.fetch(daemon, "/health", source: guesser).status == 200)

        // Dashboard logins, from a third address.
        let loginClient = "127.0.0.3"
        func login(_ token: String) async throws -> RawHTTP.Response {
            try await offPool {
                try RawHTTP.fetch(
                    port: daemon.httpPort, "/ui/login", method: "POST",
                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "token=\(token)",
                    source: loginClient)
            }
        }
        for attempt in 1...3 { #expect(try await login("wrong-\(attempt)").status == 401) }
        let throttled = try await login(tokens.admin)
        #expect(throttled.status == 429 && throttled.headers["retry-after"] != nil)
        #expect(throttled.body.contains("Too many"))
        let metrics = try await Self.fetch(daemon, "/metrics", token: tokens.admin).body
        #expect(Self.sample(metrics, "mon_query_auth_failures_total{kind=\"bearer\"}") == 3)
        #expect(Self.sample(metrics, "mon_query_auth_failures_total{kind=\"login\"}") == 3)
        #expect(Self.sample(metrics, "mon_query_auth_throttled_total") == 4)
        #expect(Self.sample(metrics, "mon_query_auth_throttle_addresses") == 2)
        #expect(!monquery.log.contains("guess-") && !monquery.log.contains(tokens.admin), "tokens never logged")
    }

    /// The value of the sample `series` (name with labels, exactly as rendered) in a text exposition.
    static func sample(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
