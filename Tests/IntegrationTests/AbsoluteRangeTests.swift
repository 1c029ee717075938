import Foundation
import MonCore
import MonQueryKit
import Testing

/// Incident review: an absolute `from`/`to` window in the past (02:10 to 02:40 yesterday, UTC)
/// answers with the rows planted inside it and none of those planted in the ten minutes on
/// each side, on the system, API and log routes, whichever tier serves it.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct AbsoluteRangeTests {
    /// One batch a minute from 02:00:30 to 02:49:30 yesterday: CPU 25 % inside the window,
    /// 95 % outside; 10 requests of `/v1/inside` or `/v1/outside`; one log line `inside N` or
    /// `outside N`. Rolled up, so both the raw rows and the minute rollups hold them.
    static func plant(_ daemon: Daemon, nowMs: Int64) async throws -> (fromMs: Int64, toMs: Int64) {
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let fromMs = DayPartition(timestampMs: nowMs).adding(days: -1).startMs + (2 * 60 + 10) * 60_000
        let toMs = fromMs + 30 * 60_000
        let agent = AgentIdentity(agentID: "seed", host: "incident-1", bootID: "seed")
        for (seq, minute) in (-10..<40).enumerated() {
            let ts = fromMs + Int64(minute) * 60_000 + 30_000
            let inside = ts >= fromMs && ts <= toMs
            var histogram = Histogram()
            for _ in 0..<10 { _ = histogram.record(inside ? 0.010 : 0.900) }
            let endpoint = inside ? "/v1/inside" : "/v1/outside"
            let batch = Batch(
                seq: UInt64(seq + 1), createdMs: ts,
                samples: [
                    Sample("mon_host_cpu_usage_ratio", ["cpu": "all"], value: inside ? 0.25 : 0.95, timestampMs: ts)
                ],
                histograms: [
                    HistogramSample(
                        MetricNames.requestDuration, ["endpoint": endpoint, "method": "GET", "status": "200"],
                        timestampMs: ts, histogram: histogram)
                ],
                logs: [
                    LogRecord(
                        timestampMs: ts, level: .info, service: "svc",
                        event: "\(inside ? "inside" : "outside") \(minute)",
                        source: "f")
                ])
            _ = try await writer.store(batch, from: agent, nowMs: nowMs)
        }
        _ = try await RollupWriter(databaseURL: daemon.databaseURL).catchUp(nowMs: nowMs)
        return (fromMs, toMs)
    }

    static func object(_ json: Any) throws -> [String: Any] { try #require(json as? [String: Any]) }

    @Test("02:10-02:40 yesterday: system/cpu (raw and minute tier), metrics?type=api and logs hold only the window")
    func pastWindow() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let (fromMs, toMs) = try await Self.plant(daemon, nowMs: now)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the daemon's HTTP API") {
            try? await daemon.get("/health").status == 200 ? true : nil
        }
        let from = Timestamp.iso8601(ms: fromMs)
        let to = Timestamp.iso8601(ms: toMs)

        // The same window in three spellings: UTC, +14:00 (encoded), epoch seconds.
        let plus14 = Timestamp.iso8601(ms: fromMs + 14 * 3_600_000).dropLast() + "%2B14:00"
        for query in ["from=\(from)&to=\(to)", "from=\(plus14)&to=\(toMs / 1000)"] {
            let (status, json) = try await daemon.get("/api/monitoring/system/cpu?\(query)&host=incident-1")
            #expect(status == 200, "\(query): \(json)")
            let body = try Self.object(json)
            #expect(body["from"] as? String == from && body["to"] as? String == to, "the range is echoed")
            let host = try Self.object(try #require((body["hosts"] as? [Any])?.first))
            let average = try Self.object(try #require(host["average"]))
            #expect(abs((average["usage_percent"] as? Double ?? 0) - 25) < 1e-6, "\(query): only inside samples")
            let points = try #require(host["series"] as? [[String: Any]])
            #expect(points.count >= 29 && points.allSatisfy { abs(($0["usage_percent"] as? Double ?? 0) - 25) < 1e-6 })
        }
        // Whole minutes: the minute rollups serve it (their watermark is past the window).
        let (minuteStatus, minuteJSON) = try await daemon.get(
            "/api/monitoring/system/cpu?from=\(from)&to=\(to)&step=1m&host=incident-1")
        #expect(minuteStatus == 200)
        let minuteHost = try Self.object(try #require((try Self.object(minuteJSON)["hosts"] as? [Any])?.first))
        let minutePoints = try #require(minuteHost["series"] as? [[String: Any]])
        #expect(minutePoints.count == 30, "one point per minute of the window")
        #expect(minutePoints.allSatisfy { abs(($0["usage_percent"] as? Double ?? 0) - 25) < 1e-6 })

        // API requests: 30 minutes × 10 requests of the inside endpoint, no outside one.
        let (apiStatus, apiJSON) = try await daemon.get("/api/monitoring/metrics?type=api&from=\(from)&to=\(to)")
        #expect(apiStatus == 200, "\(apiJSON)")
        let endpoints = try #require(try Self.object(apiJSON)["endpoints"] as? [[String: Any]])
        #expect(endpoints.map { $0["endpoint"] as? String } == ["/v1/inside"], "\(endpoints)")
        #expect(endpoints.first?["requests"] as? Int == 300)

        // Logs: the 30 inside lines, newest first; none outside.
        let (logStatus, logJSON) = try await daemon.get("/api/monitoring/logs?from=\(from)&to=\(to)&limit=1000")
        #expect(logStatus == 200)
        let logBody = try Self.object(logJSON)
        let logs = try #require(logBody["logs"] as? [[String: Any]])
        #expect(logs.count == 30 && logBody["count"] as? Int == 30)
        #expect(logs.allSatisfy { ($0["event"] as? String ?? $0["message"] as? String ?? "").hasPrefix("inside") })
        #expect(logBody["from"] as? String == from && logBody["to"] as? String == to)
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }
}
