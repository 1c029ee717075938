import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Planted faults against a live system, each detected by a rule (alerts every 0.5 s,
/// agent every 0.5 s): a CPU hog, slow PostgreSQL statements, a Redis cache-miss storm,
/// a burst of API 5xx through StatsD, and a killed agent. The summary names each alert
/// with its hint, transitions are stored, and the webhook receives Alertmanager bodies.
@Suite(
    .enabled(
        if: TestEnvironment.isAvailable && TestEnvironment.redisURL != nil, "needs scripts/test"))
struct AlertTests {
    static let rules = """
        rules:
          - name: HogCPU
            metric: mon_process_cpu_usage_ratio
            labels: {group: hog}
            op: ">"
            threshold: 0.3
            summary: "hog group at {{value}} of a CPU on {{host}}"
            hint: "a runaway process: find it in /system/cpu and stop it"
          - name: SlowStatements
            metric: mon_postgres_statements_slow_total
            aggregate: increase
            window: 5m
            op: ">"
            threshold: 2
            summary: "{{value}} slow statements on {{host}}"
            hint: "check /postgres/slow_queries for plans and index suggestions"
          - name: MissStorm
            metric: mon_redis_hit_ratio
            scale: 100
            op: "<"
            threshold: 50
            summary: "Redis hit rate {{value}} % on {{host}}"
            hint: "cache-miss storm: keys expired or renamed?"
          - name: APIErrors
            signal: api_error_rate_percent
            window: 5m
            min_requests: 10
            op: ">"
            threshold: 20
            severity: critical
            summary: "API 5xx rate {{value}} % on {{host}}"
            hint: "see the top errors in /metrics?type=api"
          - name: Silent
            signal: agent_silence_intervals
            op: ">"
            threshold: 10
            severity: critical
            summary: "no data from {{host}}"
            hint: "is monagent running there?"
        """

    static let hookServer = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                with open(sys.argv[2], 'ab') as f:
                    f.write(body + b'\\n')
                with open(sys.argv[2] + '.auth', 'a') as f:
                    f.write(str(self.headers.get('Authorization')) + '\\n')
                self.send_response(200)
                self.end_headers()
            def log_message(self, *args):
                pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """

    @Test("a CPU hog, slow statements, a miss storm, 5xx through StatsD and a silent agent each fire their alert")
    func plantedFaults() async throws {
        let daemon = try Daemon.make()
        let rulesDirectory = "\(daemon.directory)/rules.d"
        try FileManager.default.createDirectory(atPath: rulesDirectory, withIntermediateDirectories: true)
        try Self.rules.write(toFile: "\(rulesDirectory)/test.yaml", atomically: true, encoding: .utf8)
        let hookPort = TestEnvironment.freePort()
        let hookFile = "\(daemon.directory)/webhook.jsonl"
        try Self.hookServer.write(toFile: "\(daemon.directory)/hook.py", atomically: true, encoding: .utf8)
        let hook = try ManagedProcess(
            binary: "/usr/bin/python3", arguments: ["\(daemon.directory)/hook.py", "\(hookPort)", hookFile],
            environment: [:], logPath: "\(daemon.directory)/hook.log")
        defer { hook.stop(SIGKILL) }  // python inherits a blocked SIGTERM from the test process
        let hookToken = "hook-\(UInt64.random(in: 0...UInt64.max))"
        try Data((hookToken + "\n").utf8).write(to: URL(fileURLWithPath: "\(daemon.directory)/hook.token"))
        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.5",
            "MONQUERY_ALERTS_DEFAULT_RULES": "false",
            "MONQUERY_ALERTS_RULES_DIR": rulesDirectory,
            "MONQUERY_ALERTS_WEBHOOK_URL": "http://127.0.0.1:\(hookPort)/hook",
            "MONQUERY_ALERTS_WEBHOOK_BEARER_TOKEN_FILE": "\(daemon.directory)/hook.token",
        ])
        defer { monquery.stop() }

        let agentConfig = "\(daemon.directory)/monagent.yaml"
        try "processes:\n  - name: hog\n    comm: [yes]\n".write(toFile: agentConfig, atomically: true, encoding: .utf8)
        let statsdPort = TestEnvironment.freePort()
        // A cluster of its own: other suites stop and start the shared monitored one.
        let cluster = try await PrivateCluster.make()
        defer { cluster.stopNow() }
        let monitored = cluster.databaseURL
        let redisURL = try #require(TestEnvironment.redisURL)
        try await offPool {
            let connection = try PostgresConnection(url: monitored, applicationName: "mon-tests")
            try connection.execute(rawSQL: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        }
        let agent = try daemon.startAgent(
            interval: 0.5, host: "alert-host", agentID: "alert-agent",
            extra: [
                "MONAGENT_REDIS_URL": redisURL, "MONAGENT_POSTGRES_URL": monitored,
                "MONAGENT_POSTGRES_STATEMENTS_INTERVAL": "0.5", "MONAGENT_POSTGRES_SLOW_THRESHOLD_MS": "50",
                "MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(statsdPort)",
            ],
            arguments: ["--config", agentConfig])
        defer { agent.stop() }

        func firing(_ rule: String) async throws -> [String: Any] {
            try await eventually("\(rule) firing", seconds: 90) { () -> [String: Any]? in
                let (status, json) = try await daemon.get("/api/monitoring/alerts?state=firing")
                guard status == 200, let active = (json as? [String: Any])?["active"] as? [[String: Any]] else {
                    return nil
                }
                return active.first { $0["rule"] as? String == rule && $0["host"] as? String == "alert-host" }
            }
        }
        _ = try await eventually("agent data flowing") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM ingest_ledger") > 4 ? true : nil
        }
        // Transitions are streamed too: the live stream opens before any fault.
        let stream = try SSEClient(port: daemon.httpPort, path: "/api/monitoring/alerts/stream")
        defer { stream.close() }
        _ = try await stream.waitFor(1, named: "active")
        // Nothing planted yet: none of the rules fires.
        let (_, before) = try await daemon.get("/api/monitoring/alerts")
        let quiet = (before as? [String: Any])?["active"] as? [[String: Any]] ?? []
        #expect(quiet.allSatisfy { $0["state"] as? String != "firing" }, "firing before any fault: \(quiet)")

        // 1. CPU hog.
        let hog = try ManagedProcess(
            binary: "/bin/sh", arguments: ["-c", "exec yes > /dev/null"], environment: [:],
            logPath: "\(daemon.directory)/hog.log")
        let hogAlert = try await firing("HogCPU")
        hog.stop(SIGKILL)
        let streamed = try await eventually("HogCPU firing on the alert stream") { () -> SSEClient.Event? in
            try await stream.waitFor(1, named: "transition").first {
                $0.data.contains("\"rule\":\"HogCPU\"") && $0.data.contains("\"state\":\"firing\"")
            }
        }
        #expect(streamed.id != nil, "each transition carries its id, for Last-Event-ID")
        #expect((hogAlert["summary"] as? String)?.contains("hog group") == true)

        // 2. A slow statement, run repeatedly.
        try await offPool {
            let connection = try PostgresConnection(url: monitored, applicationName: "mon-tests-slow")
            for _ in 0..<6 { _ = try connection.query("SELECT pg_sleep(0.08), 'alert-test-slow'") }
        }
        _ = try await firing("SlowStatements")

        // 3. Redis cache-miss storm: GETs of keys that do not exist.
        let redis = try #require(URL(string: redisURL))
        let storm = try await runProgram(
            "/usr/bin/redis-benchmark",
            [
                "-h", redis.host ?? "127.0.0.1", "-p", "\(redis.port ?? 6379)", "-n", "30000", "-t", "get", "-r",
                "100000000", "-q",
            ])
        #expect(storm.status == 0, "\(storm.output)")
        _ = try await firing("MissStorm")

        // 4. A burst of API 5xx through StatsD.
        let sender = UDPSender(port: statsdPort)
        defer { sender.close() }
        for index in 0..<40 {
            sender.send(
                "http.request.duration:12|ms|#endpoint:/v1/fail,method:GET,status:\(index % 4 == 0 ? 200 : 500)")
        }
        let errors = try await firing("APIErrors")
        #expect((errors["value"] as? Double).map { $0 > 20 } == true, "\(errors)")

        // 5. The agent killed: silent.
        agent.stop(SIGKILL)
        let silent = try await firing("Silent")
        #expect(silent["severity"] as? String == "critical")

        // The summary names every alert with its hint.
        let (_, summary) = try await daemon.get("/api/monitoring/metrics/summary")
        let alerts = try #require((summary as? [String: Any])?["alerts"] as? [String: Any])
        #expect(alerts["evaluated"] as? Bool == true)
        let active = alerts["active"] as? [[String: Any]] ?? []
        for (rule, hint) in [
            ("HogCPU", "runaway"), ("SlowStatements", "slow_queries"), ("MissStorm", "miss storm"),
            ("APIErrors", "top errors"), ("Silent", "monagent running"),
        ] {
            let found = active.first { $0["rule"] as? String == rule }
            // The hog and the storm may have resolved by now; the others are still firing.
            if ["HogCPU", "MissStorm"].contains(rule), found == nil { continue }
            #expect((found?["hint"] as? String)?.contains(hint) == true, "\(rule) in the summary: \(active)")
        }
        #expect(active.contains { $0["rule"] as? String == "Silent" }, "\(active)")

        // Transitions are stored; /metrics exposes the firing ones; the webhook got them.
        let stored = try daemon.column("SELECT DISTINCT rule FROM alert_events WHERE state = 'firing'")
        #expect(Set(stored.compactMap { $0 }) == ["HogCPU", "SlowStatements", "MissStorm", "APIErrors", "Silent"])
        let hogResolved = try await eventually("HogCPU resolved after the hog stopped", seconds: 60) { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM alert_events WHERE rule = 'HogCPU' AND state = 'resolved'") > 0
                ? true : nil
        }
        #expect(hogResolved)
        let metrics = try await daemon.getText("/metrics")
        #expect(metrics.body.contains("mon_alerts{rule=\"Silent\",severity=\"critical\",host=\"alert-host\"} 1"))
        let hooks = try await eventually("webhook bodies") { () -> String? in
            let text = (try? String(contentsOfFile: hookFile, encoding: .utf8)) ?? ""
            return text.contains("\"alertname\":\"Silent\"") ? text : nil
        }
        #expect(hooks.contains("\"alertname\":\"HogCPU\""))
        #expect(hooks.contains("\"status\":\"resolved\""), "the hog's resolution was notified")
        #expect(hooks.contains("\"version\":\"4\""))
        // alerts.webhook_bearer_token_file: every post carried the token; the log never shows it.
        let auth = (try? String(contentsOfFile: hookFile + ".auth", encoding: .utf8)) ?? ""
        #expect(!auth.isEmpty && auth.split(separator: "\n").allSatisfy { $0 == "Bearer \(hookToken)" }, "\(auth)")
        #expect(!monquery.log.contains(hookToken))
    }

    @Test("an invalid rule file stops the daemon at start with the file, line and reason")
    func invalidRuleFile() async throws {
        let daemon = try Daemon.make()
        let rulesDirectory = "\(daemon.directory)/rules.d"
        try FileManager.default.createDirectory(atPath: rulesDirectory, withIntermediateDirectories: true)
        try "- name: Bad\n  metric: m\n  op: '!='\n  threshold: 1\n  summary: s\n".write(
            toFile: "\(rulesDirectory)/bad.yaml", atomically: true, encoding: .utf8)
        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_RULES_DIR": rulesDirectory,
        ])
        _ = try await eventually("monquery exiting") { monquery.isRunning ? nil : true }
        #expect(monquery.log.contains("bad.yaml:3"), "\(monquery.log)")
        #expect(monquery.log.contains("op '!='"), "\(monquery.log)")
    }
}
