import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

@testable import MonQuery

/// The whole system with known passwords, under fault injection (wrong passwords, the
/// database stopped): no password may appear in any log line, HTTP response or command line.
@Suite(.enabled(if: TestEnvironment.isAvailable && TestEnvironment.redisURL != nil, "needs scripts/test"))
struct SecretLeakTests {
    static func secret(_ tag: String) -> String {
        "\(tag)\(String(UInt64.random(in: 1 << 60...UInt64.max), radix: 16))"
    }

    @Test("passwords never reach logs, HTTP responses, /metrics, /health/detailed or ps, even when things fail")
    func noSecretAnywhere() async throws {
        let password = Self.secret("pgPw")
        let wrong = Self.secret("wrongPw")
        let redisPassword = Self.secret("rdPw")
        let secrets = [password, wrong, redisPassword]

        // A cluster where the daemon's role authenticates with SCRAM over TCP.
        let cluster = try await PrivateCluster.make()
        defer { cluster.stopNow() }
        let admin = try PostgresConnection(url: cluster.databaseURL, applicationName: "mon-tests")
        try admin.execute(
            rawSQL: """
                CREATE ROLE mon_owner LOGIN PASSWORD '\(password)';
                ALTER DATABASE mon OWNER TO mon_owner;
                GRANT pg_monitor TO mon_owner;
                CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                """)
        let hba = "\(cluster.directory)/data/pg_hba.conf"
        let rules = try String(contentsOfFile: hba, encoding: .utf8)
        try ("host all mon_owner 127.0.0.1/32 scram-sha-256\n" + rules).write(
            toFile: hba, atomically: false, encoding: .utf8)
        try admin.execute(rawSQL: "SELECT pg_reload_conf()")

        // A Redis user with a password on the shared test server.
        let redis = try #require(TestEnvironment.redisURL.flatMap { URL(string: $0) })
        let redisHost = redis.host ?? "127.0.0.1"
        let redisPort = redis.port ?? 6379
        let redisUser = "mon_leak_\(UInt32.random(in: 0...UInt32.max))"
        let setUser = try await runProgram(
            "/usr/bin/redis-cli",
            [
                "-h", redisHost, "-p", "\(redisPort)", "ACL", "SETUSER", redisUser, "on", ">\(redisPassword)", "~*",
                "+@all",
            ])
        #expect(setUser.output.contains("OK"), "\(setUser.output)")
        defer {
            _ = try? runProgramBlocking(
                "/usr/bin/redis-cli", ["-h", redisHost, "-p", "\(redisPort)", "ACL", "DELUSER", redisUser])
        }

        let base = try Daemon.make(authenticated: true)
        func daemon(_ url: String) -> Daemon {
            Daemon(
                databaseURL: url, socketPath: base.socketPath, httpPort: base.httpPort, directory: base.directory,
                tokens: base.tokens)
        }
        let host = "127.0.0.1:\(cluster.port)"
        let good = daemon("postgresql://mon_owner:\(password)@\(host)/mon")

        // Fault: the wrong password, in the URL and in a password file.
        let passwordFile = "\(base.directory)/db-password"
        try wrong.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        for (index, (url, extra)) in [
            ("postgresql://mon_owner:\(wrong)@\(host)/mon", [String: String]()),
            ("postgresql://mon_owner@\(host)/mon", ["MONQUERY_DATABASE_PASSWORD_FILE": passwordFile]),
        ].enumerated() {
            let failing = try daemon(url).start(extra: extra, log: "monquery-wrong-\(index).log")
            _ = try await eventually("monquery giving up on the wrong password", seconds: 30) {
                failing.isRunning ? nil : true
            }
        }

        // The real system, with an agent using good credentials and one using wrong ones.
        let monquery = try good.start()
        defer { monquery.stop() }
        let agents = [
            try good.startAgent(
                interval: 0.5, host: "leak-good", agentID: "leak-good",
                extra: [
                    "MONAGENT_POSTGRES_URL": "postgresql://mon_owner:\(password)@\(host)/mon",
                    "MONAGENT_REDIS_URL": "redis://\(redisUser):\(redisPassword)@\(redisHost):\(redisPort)/0",
                ]),
            try good.startAgent(
                interval: 0.5, host: "leak-bad", agentID: "leak-bad",
                extra: [
                    "MONAGENT_POSTGRES_URL": "postgresql://mon_owner:\(wrong)@\(host)/mon",
                    "MONAGENT_REDIS_URL": "redis://\(redisUser):\(wrong)@\(redisHost):\(redisPort)/0",
                ]),
        ]
        defer { for agent in agents { agent.stop() } }
        _ = try await eventually("PostgreSQL and Redis samples from the good agent") { () -> Bool? in
            let up = try good.scalar(
                "SELECT count(DISTINCT s.name) FROM metric_series s JOIN metrics m ON m.series_id = s.id "
                    + "WHERE s.host = 'leak-good' AND s.name IN ('mon_postgres_up', 'mon_redis_up') AND m.value = 1")
            return up == 2 ? true : nil
        }

        var responses: [String] = []
        func sweep(_ phase: String) async throws {
            var paths = API.routes.filter { $0.produces != ["text/event-stream"] }.map {
                RouteCatalogue.example($0.path)
            }
            paths += [
                "/api/monitoring/metrics?type=postgres", "/api/monitoring/metrics?type=redis",
                "/api/monitoring/compare?metric=mon_postgres_up", "/api/monitoring/export?type=events&period=1h",
                "/api/monitoring/export?type=logs&format=csv", "/api/monitoring/system/cpu?period=banana",
                "/api/monitoring/logs?since=1h&limit=1000",
            ]
            let token = try #require(good.tokens?.admin)
            for path in paths {
                let (headers, body) = try await offPool {
                    try curl([
                        "--max-time", "30", "-H", "Authorization: Bearer \(token)",
                        "http://127.0.0.1:\(good.httpPort)\(path)",
                    ])
                }
                responses.append(
                    "\(phase) \(path) \(headers.map { "\($0.key): \($0.value)" }.joined(separator: "\n"))\n"
                        + String(decoding: body, as: UTF8.self))
            }
        }
        try await sweep("running")

        // Fault: the database stopped, requests made while it is away, then started again.
        try await cluster.stop()
        _ = try await eventually("health/detailed unhealthy") { () -> Bool? in
            let (status, _) = try await good.get("/health/detailed")
            return status == 503 ? true : nil
        }
        try await Task.sleep(for: .seconds(2))
        try await sweep("database down")
        try await cluster.start()
        _ = try await eventually("health/detailed healthy again") { () -> Bool? in
            let (status, _) = try await good.get("/health/detailed")
            return status == 200 ? true : nil
        }
        try await sweep("recovered")

        // Evidence the faults happened, so the grep below means something.
        let logs = try FileManager.default.contentsOfDirectory(atPath: base.directory).filter { $0.hasSuffix(".log") }
            .map { ($0, try String(contentsOfFile: "\(base.directory)/\($0)", encoding: .utf8)) }
        let allLogs = logs.map(\.1).joined(separator: "\n")
        #expect(allLogs.contains("password authentication failed"), "a wrong-password failure was logged")
        #expect(
            allLogs.lowercased().contains("wrongpass") || allLogs.contains("WRONGPASS")
                || allLogs.contains("invalid username-password"),
            "Redis refused the wrong password and it was logged")
        #expect(
            responses.contains { $0.contains("database_unavailable") }, "a 503 was answered while PostgreSQL was down")

        var commandLines: [String] = []
        for process in [monquery] + agents {
            let cmdline = (try? String(contentsOfFile: "/proc/\(process.pid)/cmdline", encoding: .utf8)) ?? ""
            commandLines.append(cmdline.replacingOccurrences(of: "\0", with: " "))
        }
        #expect(commandLines.allSatisfy { !$0.isEmpty })

        for secret in secrets {
            // The whole secret, and a distinctive part of it (a truncated or partly masked print).
            for needle in [secret, String(secret.suffix(10))] {
                for (name, text) in logs {
                    #expect(!text.contains(needle), "\(name) contains a password")
                }
                for response in responses where response.contains(needle) {
                    Issue.record("an HTTP response contains a password: \(response.prefix(200))")
                }
                #expect(commandLines.allSatisfy { !$0.contains(needle) }, "a command line contains a password")
            }
        }
    }
}
