import Foundation
import MonCore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Issue 23's end-to-end trace: the real FastAPI fixture app (Tests/Fixtures/realapp)
/// instrumented with the OpenTelemetry SDK, its OTLP/HTTP protobuf exporter and the FastAPI,
/// Redis and psycopg instrumentations, exporting to a real monagent, which ships to a real
/// monquery; the stored trace is read back through the API, and headless Chromium renders its
/// waterfall.
@Suite(.serialized) struct RealTraceTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/realapp").path

    @Test(
        "one request of the instrumented app: a server span with its Redis and PostgreSQL children, the log line's trace id, one bar per span"
    )
    func instrumentedRequest() async throws {
        let python = try #require(TestEnvironment.realAppPython)
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let otlpPort = TestEnvironment.freePort()
        let appPort = TestEnvironment.freePort()
        let logFile = "\(daemon.directory)/app.log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let redis = try RealClientTests.redisURL(database: 10)
        let monagent = try daemon.startAgent(
            interval: 0.5,
            extra: [
                "MONAGENT_COLLECTORS": "cpu", "MONAGENT_TRACES_ENABLED": "true",
                "MONAGENT_TRACES_OTLP_LISTEN": "127.0.0.1:\(otlpPort)", "MONAGENT_LOG_PATHS": logFile,
                "MONAGENT_LOGS_START_AT": "beginning",
            ])
        let app = try ManagedProcess(
            binary: python,
            arguments: [
                "-m", "uvicorn", "app:app", "--app-dir", Self.fixtures, "--host", "127.0.0.1", "--port",
                "\(appPort)", "--no-access-log", "--log-level", "warning",
            ],
            environment: [
                "LOG_FILE": logFile, "REDIS_URL": redis, "PG_URL": daemon.databaseURL,
                // What a user sets: the SDK appends /v1/traces.
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(otlpPort)",
            ],
            logPath: "\(daemon.directory)/app.out")
        defer {
            app.stop(SIGKILL)  // a test fixture: no graceful shutdown to wait for
            monagent.stop()
            monquery.stop()
        }
        let base = "http://127.0.0.1:\(appPort)"
        _ = try await eventually("the app answering", seconds: 60) { () -> Bool? in
            guard app.isRunning else { throw TestFailure("app exited: \(app.log)") }
            let url = try #require(URL(string: base + "/health"))
            return (try? await URLSession.shared.data(from: url)) != nil ? true : nil
        }
        _ = try await URLSession.shared.data(from: try #require(URL(string: base + "/v1/traced/5")))
        var flush = URLRequest(url: try #require(URL(string: base + "/__flush")))
        flush.httpMethod = "POST"
        let (flushed, _) = try await URLSession.shared.data(for: flush)
        #expect(String(decoding: flushed, as: UTF8.self).contains("true"), "the SDK exported to the agent")

        // The request's structlog line carries the trace id (log correlation).
        let traceID = try await eventually("the request's log line") { () -> String? in
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.contains("\"/v1/traced/5\"") {
                guard case .object(let fields) = try JSONParser.parse(line.utf8),
                    let id = fields.first(where: { $0.0 == "trace_id" })?.1, case .string(let text) = id
                else { continue }
                return text
            }
            return nil
        }
        #expect(SpanRecord.isValidID(traceID, hexDigits: 32))

        // The stored trace, through the API.
        let trace = try await eventually("trace \(traceID) stored with its three spans", seconds: 60) {
            () -> [String: Any]? in
            let (status, json) = try await daemon.get("/api/monitoring/traces/\(traceID)")
            guard status == 200, let trace = json as? [String: Any],
                ((trace["spans"] as? [[String: Any]])?.count ?? 0) >= 3
            else { return nil }
            return trace
        }
        // Kept for the record (the stored tree of one real request), like the dashboard's screenshots.
        let kept = ".build/artifacts"
        try FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: trace, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(kept)/real-trace.json"))
        let spans = try #require(trace["spans"] as? [[String: Any]])
        let root = try #require(spans.first { $0["parent_span_id"] is NSNull }, "a root span: \(spans)")
        #expect(root["kind"] as? String == "server")
        #expect(root["name"] as? String == "GET /v1/traced/{id}")
        #expect(root["service"] as? String == "mnemolite")
        #expect(trace["root_span_id"] as? String == root["span_id"] as? String)
        func system(_ span: [String: Any]) -> String? {
            (span["attributes"] as? [String: Any])?["db.system"] as? String
        }
        let redisSpan = try #require(spans.first { system($0) == "redis" }, "a Redis span: \(spans)")
        let pgSpan = try #require(spans.first { system($0) == "postgresql" }, "a PostgreSQL span: \(spans)")
        for child in [redisSpan, pgSpan] {
            #expect(child["parent_span_id"] as? String == root["span_id"] as? String)
            #expect(child["kind"] as? String == "client")
        }
        // Each stored child interval (start, start + duration) lies inside its parent's, as the
        // SDK recorded them: a fact about the stored spans, not about how long this test took.
        let contained = try daemon.scalar(
            """
            SELECT count(*) FROM spans c JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
            WHERE c.trace_id = $1 AND c.span_id IN ($2, $3) AND c.start >= p.start
              AND c.start + c.duration_ns / 1000.0 * interval '1 microsecond'
                  <= p.start + p.duration_ns / 1000.0 * interval '1 microsecond'
            """, [traceID, redisSpan["span_id"] as? String, pgSpan["span_id"] as? String])
        #expect(contained == 2, "the Redis and PostgreSQL spans lie within the server span")
        #expect(redisSpan["name"] as? String == "GET")

        // The same trace id on the stored log line.
        let stored = try await eventually("the log line stored with its trace id") { () -> [[String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/logs?trace_id=\(traceID)&since=1h")
            let lines = ((json as? [String: Any])?["logs"] as? [[String: Any]]) ?? []
            return status == 200 && !lines.isEmpty ? lines : nil
        }
        #expect(stored.allSatisfy { $0["trace_id"] as? String == traceID })

        // Chromium renders the waterfall: one bar per stored span.
        let chromium = try await ChromiumRun.make(daemon: daemon, token: "auth-off")
        defer { chromium.stop() }
        let target = "/ui/monitoring/traces/\(traceID)?period=1h"
        try chromium.writeLoginPage(token: "auth-off", next: target)
        let dom = try await chromium.dumpDOM(next: target)
        let bars = dom.components(separatedBy: "<g class=\"span-bar").count - 1
        #expect(bars == spans.count, "bars in the rendered DOM: \(bars), spans: \(spans.count)")
        _ = try await chromium.screenshot(next: target, width: 1280, height: 900, to: "\(kept)/real-trace.png")
    }
}
