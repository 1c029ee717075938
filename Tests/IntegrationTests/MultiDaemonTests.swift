import Foundation
import MonCore
import Testing

/// Two monquery daemons on one database, one agent on each (issue 21): the leases put
/// rollups and alerts on one daemon; kill -9 of that daemon moves them to the other, which
/// notifies nothing twice, leaves no rollup minute out or counted twice, and answers the API.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test"))
struct MultiDaemonTests {
    static let rules = """
        rules:
          - name: AgentAlive
            metric: mon_agent_cycle_duration_seconds
            aggregate: max
            window: 2m
            op: ">="
            threshold: 0
            summary: "agent on {{host}} collects"
            hint: "always fires while the agent reports: the notification count is what is tested"
        """

    /// Per daemon: (holder, held) of `job` as its `/health/detailed` says.
    static func lease(_ daemon: Daemon, _ job: String) async throws -> (holder: String?, held: Bool)? {
        let (_, json) = try await daemon.get("/health/detailed")
        guard let checks = (json as? [String: Any])?["checks"] as? [String: Any],
            let leases = checks["leases"] as? [String: Any], let jobs = leases["jobs"] as? [String: Any],
            let state = jobs[job] as? [String: Any], state["checked"] is String
        else { return nil }
        return (state["holder"] as? String, state["held"] as? Bool ?? false)
    }

    /// The firing (rule, host) pairs of the daemon's alerts API.
    static func firing(_ daemon: Daemon) async throws -> Set<String> {
        let (status, json) = try await daemon.get("/api/monitoring/alerts?state=firing")
        guard status == 200, let active = (json as? [String: Any])?["active"] as? [[String: Any]] else { return [] }
        return Set(active.map { "\($0["rule"] as? String ?? "?")/\($0["host"] as? String ?? "?")" })
    }

    /// Webhook notifications received, as "status rule/host" lines, one per alert per body.
    static func notifications(_ file: String) -> [String] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").flatMap { line -> [String] in
            guard let body = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let alerts = body["alerts"] as? [[String: Any]]
            else { return ["unparsable"] }
            return alerts.map { alert in
                let labels = alert["labels"] as? [String: Any] ?? [:]
                return "\(alert["status"] as? String ?? "?") \(labels["alertname"] as? String ?? "?")/"
                    + "\(labels["host"] as? String ?? "?")"
            }
        }
    }

    static func watermarkMs(_ daemon: Daemon) throws -> Int64? {
        try daemon.column(
            "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'"
        ).first.flatMap { $0 }.flatMap { Int64($0) }
    }

    @Test("kill -9 of the lease holder: the survivor takes over, no duplicate notification, no rollup gap")
    func leaseHolderKilled() async throws {
        let first = try Daemon.make()
        // The second daemon shares the database and the directory (so an agent that moves keeps
        // its spool), with a socket, a port and a log of its own.
        let second = Daemon(
            databaseURL: first.databaseURL, socketPath: "\(first.directory)/ingest-b.sock",
            httpPort: TestEnvironment.freePort(), directory: first.directory)
        let rulesDirectory = "\(first.directory)/rules.d"
        try FileManager.default.createDirectory(atPath: rulesDirectory, withIntermediateDirectories: true)
        try Self.rules.write(toFile: "\(rulesDirectory)/test.yaml", atomically: true, encoding: .utf8)
        let hookPort = TestEnvironment.freePort()
        let hookFile = "\(first.directory)/webhook.jsonl"
        try AlertTests.hookServer.write(toFile: "\(first.directory)/hook.py", atomically: true, encoding: .utf8)
        let hook = try ManagedProcess(
            binary: "/usr/bin/python3", arguments: ["\(first.directory)/hook.py", "\(hookPort)", hookFile],
            environment: [:], logPath: "\(first.directory)/hook.log")
        defer { hook.stop(SIGKILL) }  // python inherits a blocked SIGTERM from the test process
        func settings(_ name: String) -> [String: String] {
            [
                "MONQUERY_INSTANCE_NAME": name,
                "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.5",
                "MONQUERY_ALERTS_DEFAULT_RULES": "false", "MONQUERY_ALERTS_RULES_DIR": rulesDirectory,
                "MONQUERY_ALERTS_WEBHOOK_URL": "http://127.0.0.1:\(hookPort)/hook",
                "MONQUERY_STORAGE_ROLLUP_INTERVAL_SECONDS": "1", "MONQUERY_STORAGE_ROLLUP_SETTLE_SECONDS": "1",
            ]
        }
        let holder = try first.start(extra: settings("lease-a"), log: "monquery-a.log")
        defer { holder.stop() }
        for job in ["rollups", "alerts", "partitions"] {
            _ = try await eventually("lease-a holding \(job)") { () -> Bool? in
                try await Self.lease(first, job).map { $0.held && $0.holder == "lease-a" } == true ? true : nil
            }
        }
        let survivor = try second.start(extra: settings("lease-b"), log: "monquery-b.log")
        defer { survivor.stop() }
        for job in ["rollups", "alerts", "partitions"] {
            _ = try await eventually("lease-b seeing lease-a hold \(job)") { () -> Bool? in
                try await Self.lease(second, job).map { !$0.held && $0.holder == "lease-a" } == true ? true : nil
            }
        }

        var agentA = try first.startAgent(interval: 0.5, host: "lease-host-a", agentID: "lease-agent-a")
        defer { agentA.stop() }
        let agentB = try second.startAgent(interval: 0.5, host: "lease-host-b", agentID: "lease-agent-b")
        defer { agentB.stop() }
        let both: Set<String> = ["AgentAlive/lease-host-a", "AgentAlive/lease-host-b"]
        let firingLines: [String] = ["firing AgentAlive/lease-host-a", "firing AgentAlive/lease-host-b"]
        _ = try await eventually("both hosts notified once by lease-a", seconds: 60) { () -> Bool? in
            Set(Self.notifications(hookFile)) == Set(firingLines) ? true : nil
        }
        // Both daemons answer the same firing alerts: the holder evaluated them, the other
        // mirrors them from the database.
        _ = try await eventually("the same firing alerts on both daemons") { () -> Bool? in
            let (a, b) = (try await Self.firing(first), try await Self.firing(second))
            return a == both && b == both ? true : nil
        }
        // /metrics (the last-value cache) too: each daemon reads the other's hosts from the database.
        _ = try await eventually("each daemon's /metrics showing the other's host", seconds: 60) { () -> Bool? in
            let (a, b) = (try await first.getText("/metrics").body, try await second.getText("/metrics").body)
            let line = "mon_agent_cycle_duration_seconds{host="
            return a.contains(line + "\"lease-host-b\"") && b.contains(line + "\"lease-host-a\"") ? true : nil
        }
        _ = try await eventually("a minute rolled up by lease-a", seconds: 90) { () -> Int64? in
            try Self.watermarkMs(first)
        }

        // kill -9 of the holder; its agent moves to the survivor with its spool.
        let killedMs = WallClock.nowMs()
        holder.stop(SIGKILL)
        agentA.stop()
        agentA = try second.startAgent(interval: 0.5, host: "lease-host-a", agentID: "lease-agent-a")
        for job in ["rollups", "alerts"] {
            _ = try await eventually("lease-b taking \(job) over", seconds: 30) { () -> Bool? in
                try await Self.lease(second, job).map { $0.held && $0.holder == "lease-b" } == true ? true : nil
            }
        }
        // The rollups go on past the kill: a whole minute after it rolled up by the survivor.
        let minuteAfter = ClosedOpenRange.floor(killedMs, 60_000) + 60_000
        _ = try await eventually("the survivor's rollups past the kill", seconds: 150) { () -> Bool? in
            (try Self.watermarkMs(second) ?? 0) > minuteAfter ? true : nil
        }
        _ = try await eventually("lease-host-a's data through the survivor") { () -> Bool? in
            try second.scalar(
                """
                SELECT count(*) FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE s.host = 'lease-host-a' AND m.ts > to_timestamp($1::double precision / 1000)
                """, [String(killedMs + 5_000)]) > 0 ? true : nil
        }

        // Every evaluation since the takeover saw both alerts firing: none notified again.
        #expect(Self.notifications(hookFile).sorted() == firingLines, "\(Self.notifications(hookFile))")
        #expect(try await Self.firing(second) == both)
        let (summaryStatus, _) = try await second.get("/api/monitoring/metrics/summary")
        #expect(summaryStatus == 200)
        let metrics = try await second.getText("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("mon_query_lease_held{job=\"alerts\"} 1"), "\(metrics.body)")
        #expect(metrics.body.contains("mon_query_lease_takeovers_total{job=\"rollups\"} 1"))
        #expect(survivor.log.contains("lease taken"), "\(survivor.log)")

        // Agents stopped, the last minutes rolled up: every raw minute is in metrics_1m once,
        // with the raw count and sum; no raw sample stored twice.
        agentA.stop()
        agentB.stop()
        let endMs = ClosedOpenRange.floor(WallClock.nowMs(), 60_000) + 60_000
        _ = try await eventually("the last minute rolled up", seconds: 120) { () -> Bool? in
            try Self.watermarkMs(second) ?? 0 >= endMs && second.scalar("SELECT count(*) FROM rollup_pending") == 0
                ? true : nil
        }
        #expect(
            try second.scalar(
                "SELECT count(*) FROM (SELECT 1 FROM metrics GROUP BY series_id, ts HAVING count(*) > 1) d") == 0)
        let mismatches = try second.scalar(
            """
            SELECT count(*) FROM (
                SELECT date_trunc('minute', ts, 'UTC') AS ts, series_id, count(*) AS count, sum(value) AS sum
                FROM metrics GROUP BY 1, 2
            ) raw FULL JOIN metrics_1m r ON r.ts = raw.ts AND r.series_id = raw.series_id
            WHERE raw.count IS DISTINCT FROM r.count
               OR abs(coalesce(raw.sum, 0) - coalesce(r.sum, 0)) > 1e-9 * greatest(1, abs(coalesce(raw.sum, 0)))
            """)
        #expect(mismatches == 0)
        #expect(try second.scalar("SELECT count(DISTINCT date_trunc('minute', ts)) FROM metrics_1m") >= 2)
    }
}
