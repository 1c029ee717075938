import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The operator's front door: summary cards, comparisons, detailed health, and /metrics as
/// Prometheus itself reads it.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct FrontDoorTests {
    static let agentInterval = 0.5

    @Test("summary, health/detailed and /metrics (text, OpenMetrics, gzip) on a live agent; Prometheus scrapes it")
    func liveFrontDoor() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "1",
        ])
        defer { monquery.stop() }
        let monagent = try daemon.startAgent(interval: Self.agentInterval, host: "front-1")
        defer { monagent.stop() }

        let summary = try await eventually("summary with the host's CPU") { () -> [String: Any]? in
            guard let (status, json) = try? await daemon.get("/api/monitoring/metrics/summary"), status == 200,
                let body = json as? [String: Any], let hosts = body["hosts"] as? [[String: Any]],
                let host = hosts.first, (host["system"] as? [String: Any])?["cpu_percent"] is Double
            else { return nil }
            return body
        }
        let hosts = try #require(summary["hosts"] as? [[String: Any]])
        #expect(hosts.count == 1 && hosts[0]["host"] as? String == "front-1")
        let system = try #require(hosts[0]["system"] as? [String: Any])
        #expect((system["memory_percent"] as? Double).map { $0 > 0 && $0 <= 100 } == true)
        let overall = try #require(summary["overall"] as? [String: Any])
        #expect(overall["hosts"] as? Double == 1)
        #expect(((overall["system"] as? [String: Any])?["cpu_percent"] as? Double) != nil)
        // The default rules are evaluated every second here: the summary says so once they ran.
        let alerts = try await eventually("alerts evaluated in the summary") { () -> [String: Any]? in
            let (_, json) = try await daemon.get("/api/monitoring/metrics/summary")
            let alerts = (json as? [String: Any])?["alerts"] as? [String: Any]
            return alerts?["evaluated"] as? Bool == true ? alerts : nil
        }
        #expect(alerts["active"] is [Any], "\(alerts)")
        let (badStatus, bad) = try await daemon.get("/api/monitoring/metrics/summary?period=1h")
        #expect(badStatus == 400 && ((bad as? [String: Any])?["error"] as? [String: Any])?["code"] != nil)

        let (healthStatus, healthJSON) = try await daemon.get("/health/detailed")
        let health = try #require(healthJSON as? [String: Any])
        #expect(healthStatus == 200, "\(health)")
        let checks = try #require(health["checks"] as? [String: Any])
        #expect((checks["postgres"] as? [String: Any])?["latency_ms"] is Double)
        let ingest = try #require(checks["ingest"] as? [String: Any])
        let agents = try #require(ingest["agents"] as? [[String: Any]])
        #expect(agents.first?["host"] as? String == "front-1" && agents.first?["connected"] as? Bool == true)
        // Declared in the agent's HELLO (protocol 2): its release and its interval.
        #expect(agents.first?["version"] as? String == MonCoreVersion.string, "\(agents)")
        #expect(agents.first?["interval_seconds"] as? Double == Self.agentInterval, "\(agents)")
        #expect(ingest["queue_batches"] is Double)
        let agentHosts = try #require((checks["agents"] as? [String: Any])?["hosts"] as? [[String: Any]])
        #expect(agentHosts.first?["last_cycle_seconds"] is Double)
        #expect(["healthy", "degraded"].contains(health["status"] as? String ?? ""))

        // /metrics: text 0.0.4 by default (promtool-clean), OpenMetrics on request, gzip.
        let url = "http://127.0.0.1:\(daemon.httpPort)/metrics"
        let text = try await offPool { try curl([url]) }
        #expect(text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let body = String(decoding: text.body, as: UTF8.self)
        try await Promtool.check(body)
        #expect(
            body.contains(
                "mon_query_http_request_duration_seconds_bucket{route=\"/api/monitoring/metrics/summary\",method=\"GET\",status=\"200\""
            ))
        #expect(body.contains("mon_query_ingest_queue_batches "))
        #expect(body.contains("mon_query_ingest_lag_seconds "))
        #expect(body.contains("mon_host_cpu_usage_ratio{host=\"front-1\",cpu=\"all\"}"))
        let openMetrics = try await offPool {
            try curl(["-H", "Accept: application/openmetrics-text; version=1.0.0", url])
        }
        #expect(openMetrics.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        let omBody = String(decoding: openMetrics.body, as: UTF8.self)
        #expect(omBody.hasSuffix("# EOF\n") && omBody.contains("# UNIT "))
        let gzipped = try await offPool { try curl(["-H", "Accept-Encoding: gzip", url]) }
        #expect(gzipped.headers["content-encoding"] == "gzip")
        #expect(gzipped.body.prefix(2) == Data([0x1f, 0x8b]))

        // The real consumer: Prometheus scrapes (negotiating OpenMetrics) and answers a query.
        let (status, report) = try await runProgram("deploy/prometheus/check", ["http://127.0.0.1:\(daemon.httpPort)"])
        #expect(status == 0, "\(report)")
        #expect(report.contains("health:         up") && report.contains("host=\"front-1\""), "\(report)")
    }

    @Test("compare: now vs yesterday vs last week with changes in percent and the trend flag")
    func compare() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let agent = AgentIdentity(agentID: "cmp", host: "cmp-1", bootID: "b")
        // 20 samples in each window: 0.120 s now, 0.115 s a day ago, 0.105 s a week ago.
        var seq: UInt64 = 0
        for (offset, value) in [(Int64(0), 0.120), (86_400_000, 0.115), (604_800_000, 0.105)] {
            seq += 1
            let samples = (1...20).map { index in
                Sample(
                    "mon_app_latency_p95_seconds", ["endpoint": "/v1/search"], value: value,
                    timestampMs: now - offset - Int64(index) * 120_000)
            }
            let batch = Batch(seq: seq, createdMs: now, samples: samples)
            _ = try await writer.store(batch, from: agent, nowMs: now)
        }
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let (status, json) = try await eventually("compare") { () -> (Int, Any)? in
            try? await daemon.get(
                "/api/monitoring/compare?metric=mon_app_latency_p95_seconds&labels=endpoint=/v1/search&window=1h")
        }
        #expect(status == 200)
        let body = try #require(json as? [String: Any])
        func value(_ period: String, _ field: String) -> Double? { (body[period] as? [String: Any])?[field] as? Double }
        // Each window holds its 20 samples (2 to 40 minutes before its end).
        #expect(value("now", "value").map { abs($0 - 0.120) < 1e-9 } == true, "\(body)")
        #expect(value("yesterday", "value").map { abs($0 - 0.115) < 1e-9 } == true, "\(body)")
        #expect(value("last_week", "value").map { abs($0 - 0.105) < 1e-9 } == true, "\(body)")
        #expect(value("yesterday", "change_percent").map { abs($0 - 4.3478) < 0.001 } == true)
        #expect(value("last_week", "change_percent").map { abs($0 - 14.2857) < 0.001 } == true)
        #expect(body["trend"] as? String == "up")
        #expect(body["unit"] as? String == "seconds")
        let summary = try #require(body["summary"] as? String)
        #expect(summary.contains("(+4.3 %)") && summary.contains("(+14.3 %)") && summary.hasSuffix("⚠ trending up"))

        for (query, parameter) in [
            ("", "metric"), ("?metric=x%27%3B%20DROP%20TABLE%20metrics", "metric"), ("?metric=m&window=2x", "window"),
            ("?metric=m&window=8d", "window"), ("?metric=m&labels=nope", "labels"), ("?metric=m&bogus=1", "bogus"),
            // U+0000 in a label value reached PostgreSQL's jsonb (500) once labels were filtered in SQL.
            ("?metric=mon_host_cpu_usage_ratio&labels=cpu=%00", "labels"), ("?metric=m&labels=cpu=a%0Ab", "labels"),
        ] {
            let (badStatus, bad) = try await daemon.get("/api/monitoring/compare" + query)
            let message = ((bad as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(badStatus == 400 && message.hasPrefix(parameter), "\(query): \(message)")
        }
        let (emptyStatus, empty) = try await daemon.get("/api/monitoring/compare?metric=mon_nothing_here")
        #expect(emptyStatus == 200 && (empty as? [String: Any])?["trend"] as? String == "unknown")
    }

    @Test("health/detailed answers 503 unhealthy while PostgreSQL is down, healthy again after")
    func healthWhileDatabaseDown() async throws {
        let cluster = try await PrivateCluster.make()
        defer { cluster.stopNow() }
        var daemon = try Daemon.make()
        daemon = Daemon(
            databaseURL: cluster.databaseURL, socketPath: daemon.socketPath, httpPort: daemon.httpPort,
            directory: daemon.directory)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("healthy") { () -> Bool? in
            guard let (status, _) = try? await daemon.get("/health/detailed") else { return nil }
            return status == 200 ? true : nil
        }
        try await cluster.stop()
        let down = try await eventually("503 while down") { () -> [String: Any]? in
            guard let (status, json) = try? await daemon.get("/health/detailed"), status == 503 else { return nil }
            return json as? [String: Any]
        }
        #expect(down["status"] as? String == "unhealthy")
        let postgres = try #require((down["checks"] as? [String: Any])?["postgres"] as? [String: Any])
        #expect(postgres["status"] as? String == "unhealthy" && postgres["error"] is String)
        let (liveness, _) = try await daemon.get("/health")
        #expect(liveness == 200, "liveness does not depend on the database")
        try await cluster.start()
        _ = try await eventually("healthy again", seconds: 90) { () -> Bool? in
            guard let (status, _) = try? await daemon.get("/health/detailed") else { return nil }
            return status == 200 ? true : nil
        }
    }
}
