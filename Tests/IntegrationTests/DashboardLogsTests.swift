import Foundation
import MonCore
import Testing

/// The log pane's row tools in a real browser (headless Chromium, driven over its DevTools
/// pipe by Tests/Fixtures/dashboard-logs.py) on a live daemon and agent: a row expands to
/// its whole record as JSON (fetched by id; the row cuts the message at 400 characters), its
/// trace id is copied to the clipboard, a record the stream brings gets the same tools, and
/// a click on a field of the JSON or on a row's service filters the page.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct DashboardLogsTests {
    static let traceID = "0af7651916cd43dd8448eb211c80319c"

    @Test("a row's JSON (whole record), copy trace id, streamed rows alike, filter by a field and by a service")
    func rowToolsInChromium() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        let payload = String(repeating: "0123456789", count: 120)
        let logPath = "\(daemon.directory)/app.log"
        let lines = [
            #"{"event":"request_finished","level":"info","service":"api","trace_id":"\#(Self.traceID)","user":"alice","payload":"\#(payload)"}"#,
            #"{"event":"job_done","level":"info","service":"worker","queue":"emails"}"#,
            #"{"event":"cache_hit","level":"info","service":"api","key":"search:42"}"#,
            #"{"event":"login_ok","level":"info","service":"api","user":"bob"}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: logPath, atomically: true, encoding: .utf8)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let monagent = try daemon.startAgent(
            interval: 0.5, host: "logs-1", agentID: "logs-agent",
            extra: ["MONAGENT_LOG_PATHS": logPath, "MONAGENT_LOGS_START_AT": "beginning"])
        defer { monagent.stop() }
        _ = try await eventually("the four records stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs") >= 4 ? true : nil
        }

        // The record API the JSON button reads: whole, by id; 404 and 400 name the id.
        let id = try daemon.scalar("SELECT id FROM logs WHERE event = 'request_finished'")
        let (status, json) = try await daemon.get("/api/monitoring/logs/\(id)")
        #expect(status == 200)
        let record = try #require(json as? [String: Any])
        #expect((record["fields"] as? [String: Any])?["payload"] as? String == payload)
        #expect(record["trace_id"] as? String == Self.traceID)
        let missing = try await daemon.get("/api/monitoring/logs/\(id + 1_000_000)")
        #expect(missing.status == 404 && "\(missing.json)".contains("log_not_found"))
        // Logs stay with admins: a viewer token gets 403.
        #expect(try await daemon.get("/api/monitoring/logs/\(id)", token: tokens.viewer).status == 403)
        for bad in ["0", "-1", "1.5", "99999999999999999999", "abc"] {
            let answer = try await daemon.get("/api/monitoring/logs/\(bad)")
            #expect(answer.status == 400, "/logs/\(bad): \(answer.status)")
            #expect("\(answer.json)".contains("is not a log record id"), "/logs/\(bad): \(answer.json)")
        }

        let chromium = try await ChromiumRun.make(
            daemon: daemon, token: tokens.admin, targets: ["/ui/monitoring/logs?period=1h"])
        defer { chromium.stop() }
        let login = "http://127.0.0.1:\(chromium.helperPort)/\(chromium.pageName("/ui/monitoring/logs?period=1h"))"
        let ready = "\(chromium.directory)/ready"
        let screenshot = "\(daemon.directory)/dashboard-logs-tools.png"
        async let browsing = runProgram(
            "/usr/bin/timeout",
            [
                "--kill-after=10", "180", "/usr/bin/python3", "Tests/Fixtures/dashboard-logs.py",
                DashboardTests.chromium, login, "\(chromium.directory)/logs-profile", ready, screenshot,
            ])
        // Once the page has shown its rows, a new record reaches it over the stream.
        _ = try await eventually("the browser's first steps", seconds: 150) {
            FileManager.default.fileExists(atPath: ready) ? true : nil
        }
        let handle = try #require(FileHandle(forWritingAtPath: logPath))
        try handle.seekToEnd()
        try handle.write(
            contentsOf: Data((#"{"event":"live_event","level":"warning","service":"api","user":"carol"}"# + "\n").utf8))
        try handle.close()

        let (exit, output) = try await browsing
        #expect(exit == 0, "\(output.suffix(3000))")
        let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(output.suffix(3000))")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])

        // The rendered row: its level, service and host link to the filtered page; the message
        // is cut; the trace has its link and copy button.
        let row = page["row_html"] as? String ?? ""
        #expect(row.contains("href=\"/ui/monitoring/logs?period=1h&amp;service=api\""), "\(row.prefix(1500))")
        #expect(row.contains("href=\"/ui/monitoring/logs?period=1h&amp;host=logs-1\""), "\(row.prefix(1500))")
        #expect(row.contains("…") && !row.contains(payload), "the row cuts the message")
        #expect(row.contains("data-trace=\"\(Self.traceID)\""))

        // The expanded row: the whole record, as the API gives it.
        let expanded = try #require(
            try JSONSerialization.jsonObject(with: Data((page["expanded"] as? String ?? "").utf8)) as? [String: Any])
        #expect((expanded["fields"] as? [String: Any])?["payload"] as? String == payload, "the whole payload")
        #expect(expanded["id"] as? Int == Int(id) && expanded["trace_id"] as? String == Self.traceID)
        #expect(page["expanded_state"] as? String == "true")
        let chips = (page["chips"] as? [[String]] ?? []).map { $0.joined(separator: " ") }
        #expect(chips.contains("user=alice /ui/monitoring/logs?period=1h&q=%22alice%22"), "\(chips)")
        #expect(chips.contains("trace_id=\(Self.traceID) /ui/monitoring/logs?period=1h&trace_id=\(Self.traceID)"))
        #expect(!chips.contains { $0.hasPrefix("payload=") }, "a value over 200 characters is no filter")

        // Copy trace id: the clipboard holds exactly the id.
        #expect(page["copy"] as? String == "copied", "\(page["copy"] ?? "")")
        #expect(page["clipboard"] as? String == Self.traceID, "\(page["clipboard"] ?? "")")

        // The streamed record: level, service and host links, and its JSON from what it carried.
        #expect(page["live_links"] as? Int == 3)
        #expect(page["live_service_href"] as? String == "/ui/monitoring/logs?period=1h&service=api")
        let live = try JSONSerialization.jsonObject(with: Data((page["live_expanded"] as? String ?? "").utf8))
        #expect(((live as? [String: Any])?["fields"] as? [String: Any])?["user"] as? String == "carol")

        // Filtering: by a field's value, then by a service.
        let afterChip = page["after_chip"] as? [String: Any] ?? [:]
        #expect((afterChip["url"] as? String)?.hasSuffix("/ui/monitoring/logs?period=1h&q=%22alice%22") == true)
        #expect(afterChip["events"] as? [String] == ["request_finished"], "\(afterChip)")
        let afterService = page["after_service"] as? [String: Any] ?? [:]
        #expect((afterService["url"] as? String)?.contains("service=worker") == true, "\(afterService)")
        #expect(afterService["services"] as? [String] == ["worker"], "\(afterService)")

        // The page with the first row and the streamed one expanded, kept as an artifact.
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(screenshot): \(size) bytes")
        try? FileManager.default.createDirectory(atPath: ".build/artifacts", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: ".build/artifacts/dashboard-logs-tools.png")
        try? FileManager.default.copyItem(atPath: screenshot, toPath: ".build/artifacts/dashboard-logs-tools.png")
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }
}
