import Foundation
import MonCore
import MonTestSupport
import Testing

/// monagent's OTLP/HTTP intake fed by the real OpenTelemetry Python SDK and its official
/// OTLP/HTTP (protobuf) exporter, plain and gzip; the spans go to a real monquery.
@Suite(
    .enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"),
    .enabled(if: TestEnvironment.realAppPython != nil, "needs scripts/test (MON_TEST_REALAPP_PYTHON)"))
struct TraceIntakeIntegrationTests {
    static func counter(_ daemon: Daemon, _ name: String, _ labels: String = "{}") throws -> Double? {
        try daemon.column(
            """
            SELECT m.value FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = $1 AND s.labels @> $2::jsonb ORDER BY m.ts DESC LIMIT 1
            """, [name, labels]
        ).first.flatMap { $0.flatMap(Double.init) }
    }

    /// monquery, and a monagent with the CPU collector and the OTLP listener on `port`, once it listens.
    static func startListening(
        _ daemon: Daemon, port: Int, extra: [String: String] = [:]
    ) async throws -> (ManagedProcess, ManagedProcess) {
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.5,
            extra: [
                "MONAGENT_TRACES_ENABLED": "true", "MONAGENT_TRACES_OTLP_LISTEN": "127.0.0.1:\(port)",
                "MONAGENT_COLLECTORS": "cpu",
            ].merging(extra) { $1 })
        do {
            _ = try await eventually("the OTLP listener") { () -> Bool? in
                monagent.log.contains("OTLP trace listener ready") ? true : nil
            }
        } catch {
            monagent.stop()
            monquery.stop()
            throw error
        }
        return (monquery, monagent)
    }

    @Test("all places taken by idle connections: a new exporter is answered, the longest idle is closed and counted")
    func idleConnectionsGiveWay() async throws {
        let daemon = try Daemon.make()
        let port = TestEnvironment.freePort()
        let (monquery, monagent) = try await Self.startListening(
            daemon, port: port, extra: ["MONAGENT_TRACES_MAX_CONNECTIONS": "8"])
        defer {
            monagent.stop()
            monquery.stop()
        }
        // Eight connections that never send a byte (the hostile pass held 256 this way).
        var idle: [RawHTTP] = []
        for _ in 0..<8 {
            idle.append(try await offPool { try RawHTTP(port: port, timeout: 10) })
            // In order: the first one opened is the longest idle.
            try await Task.sleep(for: .milliseconds(50))
        }
        // An export with no spans (an empty ExportTraceServiceRequest) on a ninth connection.
        let response = try await offPool {
            try RawHTTP.fetch(
                port: port, "/v1/traces", method: "POST", headers: [("Content-Type", "application/x-protobuf")],
                body: "")
        }
        #expect(response.status == 200, "\(response)")
        let first = idle[0]
        #expect(try await offPool { first.waitForClose() }, "the longest-idle connection was closed")
        let evicted = try await eventually("mon_agent_traces_connections_evicted_total") { () -> Double? in
            try Self.counter(daemon, "mon_agent_traces_connections_evicted_total")
        }
        #expect(evicted == 1)
        #expect(try Self.counter(daemon, "mon_agent_traces_connections_refused_total") == nil)
    }

    @Test("the Python SDK's exports are accepted whole (plain and gzip), counted, and the agent's batches acked")
    func pythonSDK() async throws {
        let python = try #require(TestEnvironment.realAppPython)
        let daemon = try Daemon.make()
        let port = TestEnvironment.freePort()
        let (monquery, monagent) = try await Self.startListening(daemon, port: port)
        defer {
            monagent.stop()
            monquery.stop()
        }
        let endpoint = "http://127.0.0.1:\(port)/v1/traces"
        var traceIDs: [String] = []
        for (count, compression) in [(150, "none"), (100, "gzip")] {
            let (status, output) = try await runProgram(
                python,
                [
                    Fixtures.directory.appendingPathComponent("otlp/send_spans.py").path, endpoint, "\(count)",
                    compression,
                ])
            #expect(status == 0, "send_spans.py: \(output)")
            let line = try #require(output.split(separator: "\n").last, "no output: \(output)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(report["flushed"] as? Bool == true, "\(output)")
            let exports = report["exports"] as? [String] ?? []
            #expect(!exports.isEmpty && exports.allSatisfy { $0.hasPrefix("ok:") }, "exports: \(exports)")
            #expect(exports.compactMap { Int($0.dropFirst(3)) }.reduce(0, +) == 2 * count)
            traceIDs += report["trace_ids"] as? [String] ?? []
        }
        #expect(Set(traceIDs).count == 250)
        // The agent's counters reach the daemon with its next batches.
        let received = try await eventually("mon_agent_traces_spans_received_total = 500") { () -> Double? in
            try Self.counter(daemon, "mon_agent_traces_spans_received_total").flatMap { $0 >= 500 ? $0 : nil }
        }
        #expect(received == 500)
        #expect(try Self.counter(daemon, "mon_agent_traces_spans_rejected_total") == nil)
        let accepted = try #require(
            try Self.counter(daemon, "mon_agent_traces_requests_total", #"{"result":"accepted"}"#))
        #expect(accepted >= 2)
        // Two secrets per trace: the authorization header and the URL's token (the SQL literals besides).
        #expect((try Self.counter(daemon, "mon_agent_traces_redactions_total") ?? 0) >= 500)
        #expect(try Self.counter(daemon, "mon_agent_traces_requests_total", #"{"result":"bad_request"}"#) == nil)
        // Everything queued was acknowledged: the spans are in the daemon's ledger, not waiting.
        _ = try await eventually("the agent's queue drained") { () -> Bool? in
            (try Self.counter(daemon, "mon_agent_queue_batches") ?? 99) <= 1 ? true : nil
        }
        #expect(!monagent.log.contains("sk-live-secret"))
    }
}
