import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

@testable import MonQuery

/// `/openapi.json` against what is served, SQL-looking input through every parameter, and
/// schemathesis (PyPI) fuzzing the live daemon from the published document.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct OpenAPITests {
    /// SQL-looking values, each sent through every parameter of every endpoint.
    static let payloads = [
        "'; DROP TABLE canary; --",
        "' OR '1'='1",
        "1 OR 1=1",
        "\" OR \"\"=\"",
        "$1",
        "x') UNION SELECT secret FROM canary --",
        "%' OR name LIKE '%",
        "\\'; DELETE FROM metrics; --",
        "1; SELECT pg_sleep(2)--",
        "vm'--",
        "E'\\x27'",
        "canary-ok' AND 1=(SELECT count(*) FROM canary)--",
    ]

    /// A daemon with tokens, an agent shipping host samples and a few log lines, and a
    /// canary table next to the daemon's own.
    static func liveSystem() async throws -> (Daemon, ManagedProcess, ManagedProcess) {
        let daemon = try Daemon.make(authenticated: true)
        // schemathesis posts made-up tokens to /ui/login by the hundred: the credential
        // throttle would rightly lock its address out (429 even for the admin token).
        let monquery = try daemon.start(extra: ["MONQUERY_AUTH_MAX_FAILURES_PER_MINUTE": "10000"])
        let logPath = "\(daemon.directory)/app.log"
        let lines = (1...5).map {
            #"{"event":"canary-ok","level":"error","service":"svc","trace_id":"t\#($0)","message":"nothing to see"}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: logPath, atomically: true, encoding: .utf8)
        let agent = try daemon.startAgent(
            interval: 0.5, host: "oa-host", agentID: "oa-agent",
            extra: ["MONAGENT_LOG_PATHS": logPath, "MONAGENT_LOGS_START_AT": "beginning"])
        _ = try await eventually("samples and logs stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs") >= 5 && daemon.scalar("SELECT count(*) FROM metrics") > 0
                ? true : nil
        }
        try daemon.execute("CREATE TABLE canary(secret text); INSERT INTO canary VALUES ('s1'), ('s2')")
        return (daemon, monquery, agent)
    }

    static func url(_ daemon: Daemon, _ path: String, _ query: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        let encoded = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return "http://127.0.0.1:\(daemon.httpPort)\(path)\(encoded.isEmpty ? "" : "?" + encoded)"
    }

    /// GET with the admin token through curl: status and body.
    static func fetch(_ daemon: Daemon, _ path: String, _ query: [(String, String)]) async throws -> (Int, String) {
        let target = url(daemon, path, query)
        let token = daemon.tokens?.admin ?? ""
        let (headers, body) = try await offPool {
            try curl(["--max-time", "60", "-H", "Authorization: Bearer \(token)", target])
        }
        return (Int(headers[":status"] ?? "") ?? 0, String(decoding: body, as: UTF8.self))
    }

    @Test("/openapi.json lists every route with the parameters each one accepts, and the roles the API enforces")
    func documentMatchesServer() async throws {
        let (daemon, monquery, agent) = try await Self.liveSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let (status, text) = try await Self.fetch(daemon, "/openapi.json", [])
        #expect(status == 200)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.0.3")
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(Set(paths.keys) == Set(API.routes.map(\.path)))
        for route in API.routes where route.produces != ["text/event-stream"] && route.method == .get {
            // The server names the parameters it accepts when refusing an unknown one.
            let (status, body) = try await Self.fetch(daemon, RouteCatalogue.example(route.path), [("zz_unknown", "1")])
            #expect(status == 400, "\(route.path): \(status)")
            let accepted =
                body.range(of: "accepts: ").map { body[$0.upperBound...] }
                .map { $0.prefix { $0 != "\"" }.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? []
            #expect(Set(accepted.filter { !$0.isEmpty }) == Set(route.parameters.map(\.name)), "\(route.path): \(body)")
            let operation = try #require((paths[route.path] as? [String: Any])?["get"] as? [String: Any])
            let documented = (operation["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(documented == (route.pathParameters + route.parameters).map(\.name), "\(route.path)")
            let secured = !((operation["security"] as? [Any]) ?? []).isEmpty
            #expect(secured == (route.path.hasPrefix("/api/") || route.access == .session), "\(route.path)")
            if route.path.hasPrefix("/api/") {
                let responses = operation["responses"] as? [String: Any] ?? [:]
                #expect(
                    (responses["403"] != nil) == (route.access == .admin), "\(route.path): 403 declared for admin only")
            }
        }
    }

    @Test("SQL-looking values through every parameter: 200 matching nothing, or 400; never 5xx; nothing changed")
    func sqlInjectionSweep() async throws {
        let (daemon, monquery, agent) = try await Self.liveSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let samplesBefore = try daemon.scalar("SELECT count(*) FROM metrics")
        var requests = 0
        var accepted: [String] = []
        for route in API.routes where route.produces != ["text/event-stream"] && route.method == .get {
            for parameter in route.parameters {
                for payload in Self.payloads {
                    var query = [(parameter.name, payload)]
                    if route.path == "/api/monitoring/metrics" && parameter.name != "type" {
                        query.append(("type", "api"))
                    }
                    if route.path == "/api/monitoring/compare" && parameter.name != "metric" {
                        query.append(("metric", "mon_host_cpu_usage_ratio"))
                    }
                    let (status, body) = try await Self.fetch(daemon, RouteCatalogue.example(route.path), query)
                    requests += 1
                    #expect(
                        status == 200 || status == 400,
                        "\(route.path)?\(parameter.name)=\(payload): \(status) \(body.prefix(300))")
                    if status == 400 {
                        #expect(
                            body.contains("\"bad_parameter\""), "\(route.path) \(parameter.name): \(body.prefix(300))")
                        continue
                    }
                    accepted.append("\(route.path) \(parameter.name)")
                    // A filter given a payload matches nothing: the value was compared, not run.
                    if route.path == "/api/monitoring/logs" {
                        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                        #expect(json?["count"] as? Int == 0, "logs \(parameter.name)=\(payload) matched records")
                    }
                    if route.path == "/api/monitoring/export" {
                        #expect(body.hasPrefix("["), "export \(parameter.name)=\(payload): \(body.prefix(200))")
                    }
                }
            }
        }
        #expect(requests > 300)
        // Free-text filters must have been exercised, not all refused by validation.
        for free in ["/api/monitoring/logs service", "/api/monitoring/logs q", "/api/monitoring/logs trace_id"] {
            #expect(accepted.contains(free), "\(free) accepted none of the payloads")
        }
        #expect(try daemon.scalar("SELECT count(*) FROM canary") == 2)
        #expect(try daemon.scalar("SELECT count(*) FROM metrics") >= samplesBefore)
        // The filters still work for real values after the sweep.
        let (status, body) = try await Self.fetch(daemon, "/api/monitoring/logs", [("service", "svc")])
        #expect(status == 200)
        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        #expect(json?["count"] as? Int == 5)
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }

    @Test(
        "schemathesis from /openapi.json: no server error, no schema violation, invalid input refused",
        .enabled(if: ProcessInfo.processInfo.environment["MON_TEST_SCHEMATHESIS"] != nil, "set MON_TEST_SCHEMATHESIS")
    )
    func schemathesis() async throws {
        let (daemon, monquery, agent) = try await Self.liveSystem()
        defer {
            agent.stop()
            monquery.stop()
        }
        let environment = ProcessInfo.processInfo.environment
        let st = try #require(environment["MON_TEST_SCHEMATHESIS"])
        let examples = environment["MON_TEST_SCHEMATHESIS_EXAMPLES"] ?? "15"
        let token = try #require(daemon.tokens?.admin)
        var childEnvironment = environment
        childEnvironment["SCHEMATHESIS_HOOKS"] = nil
        // Invalid input is refused with 414 too when it makes the request target longer than
        // the daemon takes (8 KiB): a 1 001-character value of 4-byte characters, encoded, is
        // 12 KiB. schemathesis's default list of refusals has no 414.
        let config = "\(daemon.directory)/schemathesis.toml"
        try """
        [checks.negative_data_rejection]
        expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let (status, output) = try await runProgram(
            st,
            [
                "--config-file", config,
                "run", "http://127.0.0.1:\(daemon.httpPort)/openapi.json",
                "-H", "Authorization: Bearer \(token)",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
                "--exclude-path", "/api/monitoring/logs/stream", "--exclude-path", "/ui/monitoring/logs/stream",
                "--max-examples", examples, "--seed", "42", "--no-color",
            ], environment: childEnvironment)
        // Its failures section, each line cut: a generated URL can run to pages and, kept whole,
        // pushed the first failure out of what the message keeps.
        let failures = output.range(of: "FAILURES").map { output[$0.lowerBound...] } ?? output.suffix(6000)
        let report = failures.split(separator: "\n", omittingEmptySubsequences: false).map { $0.prefix(300) }
            .joined(separator: "\n")
        #expect(status == 0, "schemathesis failed:\n\(report.suffix(12000))")
        #expect(output.contains("passed"), "\(output.suffix(2000))")
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }
}
