import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Application signals end to end: StatsD into percentiles, JSON logs into the log API,
/// the live stream and the export.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct AppSignalsTests {
    /// A log-normal value in ms, rounded to the µs so the text sent is the value compared.
    static func logNormal(median: Double, sigma: Double) -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1)
        let u2 = Double.random(in: 0..<1)
        let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        return (median * exp(sigma * normal) * 1000).rounded() / 1000
    }

    /// The exact quantile with the rank rule the API uses: sorted[floor(q × (n − 1))].
    static func exact(_ sorted: [Double], _ q: Double) -> Double {
        sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    static func latestValue(_ daemon: Daemon, _ name: String) throws -> Double? {
        try daemon.column(
            """
            SELECT m.value FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = $1 ORDER BY m.ts DESC LIMIT 1
            """, [name]
        ).first.flatMap { $0.flatMap(Double.init) }
    }

    @Test("StatsD timings of two endpoints: P50/P95/P99 from the API within 2 % of the exact values")
    func statsdPercentiles() async throws {
        let daemon = try Daemon.make()
        let port = TestEnvironment.freePort()
        let monquery = try daemon.start()
        let unixSocket = "\(daemon.directory)/statsd.sock"
        let monagent = try daemon.startAgent(
            interval: 0.5,
            extra: [
                "MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(port)", "MONAGENT_STATSD_SOCKET": unixSocket,
                "MONAGENT_COLLECTORS": "cpu",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("StatsD receivers listening") { () -> Bool? in
            monagent.log.contains("address=\"unix") && monagent.log.contains("address=\"udp") ? true : nil
        }
        let sender = UDPSender(port: port)
        defer { sender.close() }
        let endpoints: [(path: () -> String, name: String, median: Double, sigma: Double, errorEvery: Int)] = [
            ({ "/v1/search/hybrid" }, "/v1/search/hybrid", 40, 0.6, 50),
            ({ "/v1/memories/\(Int.random(in: 1...99_999))" }, "/v1/memories/{id}", 8, 1.1, 0),
        ]
        var exactValues: [String: [Double]] = [:]
        var lines: [String] = []
        for endpoint in endpoints {
            for index in 0..<10_000 {
                let value = Self.logNormal(median: endpoint.median, sigma: endpoint.sigma)
                exactValues[endpoint.name, default: []].append(value)
                let status = endpoint.errorEvery > 0 && index % endpoint.errorEvery == 0 ? 503 : 200
                lines.append(
                    "http.request.duration:\(value)|ms|#endpoint:\(endpoint.path()),method:GET,status:\(status)")
            }
        }
        lines.shuffle()
        for (index, start) in stride(from: 0, to: lines.count, by: 40).enumerated() {
            sender.send(lines[start..<min(start + 40, lines.count)].joined(separator: "\n"))
            if index % 5 == 4 { try await Task.sleep(for: .milliseconds(2)) }  // paced: no loss on a busy CI host
        }
        // Garbage: five bad lines, each counted, nothing else changed.
        for garbage in ["not a metric", "x:abc|ms", "a:1|zz", "b:1|c|@0"] { sender.send(garbage) }
        sender.send([0xFF, 0xFE, 0x00, 0x7C])
        sender.send("jobs.done:3|c\nqueue.depth:7|g")
        #expect(sendUnixDatagram("jobs.done:3|c", to: unixSocket), "the Unix datagram socket takes the same lines")

        let api = try await eventually("10 000 requests per endpoint in the API", seconds: 60) {
            () -> [String: [String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/metrics?type=api&period=1h")
            guard status == 200, let list = (json as? [String: Any])?["endpoints"] as? [[String: Any]] else {
                return nil
            }
            let byName = Dictionary(list.map { ($0["endpoint"] as? String ?? "", $0) }) { $1 }
            let complete = endpoints.allSatisfy { byName[$0.name]?["requests"] as? Int == 10_000 }
            return complete ? byName : nil
        }
        for endpoint in endpoints {
            let sorted = try #require(exactValues[endpoint.name]).sorted()
            let latency = try #require(api[endpoint.name]?["latency_ms"] as? [String: Any])
            for (key, q) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
                let measured = try #require(latency[key] as? Double)
                let truth = Self.exact(sorted, q)
                let error = abs(measured - truth) / truth
                print("\(endpoint.name) \(key): API \(measured) ms, exact \(truth) ms, relative error \(error)")
                #expect(error <= 0.02, "\(endpoint.name) \(key): API \(measured) ms, exact \(truth) ms")
            }
        }
        let search = try #require(api["/v1/search/hybrid"])
        #expect(search["method"] as? String == "GET")
        #expect((search["status_counts"] as? [String: Any])?["503"] as? Int == 200)
        #expect(abs((search["error_rate_percent"] as? Double ?? 0) - 2.0) < 1e-9)

        _ = try await eventually("malformed lines counted") { () -> Bool? in
            try Self.latestValue(daemon, "mon_agent_statsd_malformed_total") == 5 ? true : nil
        }
        _ = try await eventually("counter and gauge stored") { () -> Bool? in
            let jobs = try Self.latestValue(daemon, "app_jobs_done_total")
            let depth = try Self.latestValue(daemon, "app_queue_depth")
            return jobs == 6 && depth == 7 ? true : nil
        }
        #expect(monagent.isRunning)

        // Prometheus exposition: the cumulative request histogram and the app counters, valid for promtool.
        let exposition = try await daemon.getText("/metrics")
        #expect(exposition.status == 200 && exposition.contentType.hasPrefix("text/plain; version=0.0.4"))
        let okBucket =
            "mon_app_request_duration_seconds_bucket{host=\"it-host\",endpoint=\"/v1/search/hybrid\","
            + "method=\"GET\",source=\"statsd\",status=\"200\",le=\"+Inf\"} 9800"
        #expect(exposition.body.contains(okBucket))
        #expect(exposition.body.contains("app_jobs_done_total{host=\"it-host\"} 6"))
        #expect(exposition.body.contains("# TYPE mon_app_request_duration_seconds histogram"))
        #expect(exposition.body.contains("process_resident_memory_bytes "))
        try await Promtool.check(exposition.body)
        let series = try daemon.scalar("SELECT count(*) FROM metric_series WHERE name LIKE 'app\\_%'")
        #expect(series == 2, "only the two well-formed application metrics became series")
    }

    /// One structlog-style JSON line.
    static func line(_ seq: Int, level: String = "info", event: String = "request handled", extra: String = "")
        -> String
    {
        let time = Timestamp.iso8601(ms: WallClock.nowMs())
        return
            "{\"timestamp\": \"\(time)\", \"level\": \"\(level)\", \"event\": \"\(event)\", \"logger\": \"api\", \"seq\": \(seq)\(extra)}\n"
    }

    static func append(_ text: String, to path: String) throws {
        try append(Array(text.utf8), to: path)
    }

    static func append(_ bytes: [UInt8], to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes))
    }

    @Test("JSON logs: rotation loses and repeats nothing, secrets masked, filters, live stream, export")
    func logsEndToEnd() async throws {
        let daemon = try Daemon.make()
        let logDirectory = try TestEnvironment.makeDirectory("applogs")
        let path = "\(logDirectory)/app.log"
        for old in 1...3 { try Self.append(Self.line(-old), to: path) }
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.5,
            extra: [
                "MONAGENT_LOG_PATHS": "\(logDirectory)/app.log*", "MONAGENT_LOGS_POLL_INTERVAL_MS": "100",
                "MONAGENT_COLLECTORS": "cpu",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("agent connected") { () -> Bool? in
            monagent.log.contains("connected to monquery") ? true : nil
        }
        try await Task.sleep(for: .milliseconds(500))

        // 200 lines around a rename rotation, with late writes to the renamed file.
        var errors = 0
        func write(_ seq: Int, to file: String) throws {
            var level = "info"
            var event = "request handled"
            var extra = ""
            if seq % 10 == 3 {
                level = "error"
                errors += 1
                extra += ", \"error_type\": \"TimeoutError\", \"path\": \"/v1/search/\(seq)\""
            }
            if seq % 5 == 0 {
                extra +=
                    ", \"path\": \"/v1/items/\(seq)\", \"method\": \"GET\", \"status_code\": 200, \"duration_ms\": \(seq)"
            }
            if seq == 7 { extra += ", \"user\": \"bob\", \"password\": \"hunter2\"" }
            if seq == 8 { event = "login password=hunter2 failed, \\\"quoted\\\"" }
            if seq == 33 { event = "zanzibar cache rebuilt" }
            if seq == 42 { extra += ", \"trace_id\": \"t-42\"" }
            try Self.append(Self.line(seq, level: level, event: event, extra: extra), to: file)
        }
        for seq in 0..<100 { try write(seq, to: path) }
        try Self.append("plain text from a print()\n", to: path)
        try Self.append([0x62, 0x61, 0x64, 0xFF, 0xFE, 0x0A], to: path)
        try await Task.sleep(for: .milliseconds(300))
        try FileManager.default.moveItem(atPath: path, toPath: "\(path).1")
        for seq in 100..<105 { try write(seq, to: "\(path).1") }
        for seq in 105..<200 { try write(seq, to: path) }

        let rotated = ContinuousClock.now
        _ = try await eventually("200 lines stored", seconds: 60) { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs WHERE fields ? 'seq'") >= 200 ? true : nil
        }
        print("200 lines stored \(rotated.duration(to: .now)) after the rotation")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE fields ? 'seq'") == 200)
        #expect(try daemon.scalar("SELECT count(DISTINCT (fields->>'seq')::int) FROM logs WHERE fields ? 'seq'") == 200)
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE (fields->>'seq')::int < 0") == 0, "old lines")
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE fields ? 'seq' IS FALSE") == 2, "garbage kept")
        #expect(
            try daemon.scalar("SELECT count(*) FROM logs WHERE event LIKE '%hunter2%' OR fields::text LIKE '%hunter2%'")
                == 0)
        #expect(try daemon.column("SELECT fields->>'password' FROM logs WHERE fields->>'seq' = '7'") == ["[REDACTED]"])

        // Filters and pagination.
        let (_, errorJSON) = try await daemon.get("/api/monitoring/logs?level=error&since=1h&limit=1000")
        let errorLogs = try #require((errorJSON as? [String: Any])?["logs"] as? [[String: Any]])
        #expect(errorLogs.count == errors)
        #expect(errorLogs.allSatisfy { $0["level"] as? String == "error" })
        let (_, searchJSON) = try await daemon.get("/api/monitoring/logs?q=zanzibar&since=1h")
        let found = try #require((searchJSON as? [String: Any])?["logs"] as? [[String: Any]])
        #expect(found.count == 1 && (found.first?["fields"] as? [String: Any])?["seq"] as? Int == 33)
        let (_, traceJSON) = try await daemon.get("/api/monitoring/logs?trace_id=t-42&since=1h")
        #expect(((traceJSON as? [String: Any])?["logs"] as? [[String: Any]])?.count == 1)
        var seen: Set<Int> = []
        var cursor: String? = nil
        var pages = 0
        repeat {
            let query = "/api/monitoring/logs?since=1h&limit=50" + (cursor.map { "&cursor=\($0)" } ?? "")
            let (status, json) = try await daemon.get(query)
            #expect(status == 200)
            let page = try #require(json as? [String: Any])
            for log in page["logs"] as? [[String: Any]] ?? [] {
                let id = try #require(log["id"] as? Int)
                #expect(seen.insert(id).inserted, "record \(id) on two pages")
            }
            cursor = page["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 20
        #expect(seen.count == 202)

        // Request metrics from log events: every 5th line carries path, status and duration.
        let (_, apiJSON) = try await daemon.get("/api/monitoring/metrics?type=api&period=1h&sort=rate")
        let items = ((apiJSON as? [String: Any])?["endpoints"] as? [[String: Any]])?.first {
            $0["endpoint"] as? String == "/v1/items/{id}"
        }
        #expect(items?["requests"] as? Int == 40)
        let topErrors = (apiJSON as? [String: Any])?["top_errors"] as? [[String: Any]]
        #expect(topErrors?.first?["error_type"] as? String == "TimeoutError")
        // Line 33 is an error with its own event; the other error lines share one.
        #expect(topErrors?.first?["count"] as? Int == errors - 1)

        // Live stream: a new error line arrives; a reconnect with Last-Event-ID gets what it missed.
        let stream = try SSEClient(port: daemon.httpPort, path: "/api/monitoring/logs/stream?level=error")
        _ = try await eventually("stream open") { () -> Bool? in stream.comments > 0 ? true : nil }
        let written = ContinuousClock.now
        try Self.append(Self.line(1000, level: "error", event: "sse one"), to: path)
        let first = try #require(try await stream.waitFor(1).first)
        let latency = written.duration(to: first.receivedAt)
        print("SSE latency from file write to event: \(latency)")
        #expect(first.data.contains("\"sse one\""))
        stream.close()
        try Self.append(Self.line(1001, level: "error", event: "missed one"), to: path)
        try Self.append(Self.line(1002, level: "info", event: "not an error"), to: path)
        try Self.append(Self.line(1003, level: "critical", event: "missed two"), to: path)
        _ = try await eventually("missed lines stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs WHERE (fields->>'seq')::int > 1000") == 3 ? true : nil
        }
        let resumed = try SSEClient(
            port: daemon.httpPort, path: "/api/monitoring/logs/stream?level=error", lastEventID: first.id)
        defer { resumed.close() }
        let missed = try await resumed.waitFor(2)
        #expect(missed.map(\.data).map { $0.contains("missed one") || $0.contains("missed two") } == [true, true])
        try await Task.sleep(for: .milliseconds(300))
        #expect(resumed.events.filter { $0.event == "log" }.count == 2, "no duplicate, no info line")

        // Export: CSV with a header and RFC 4180 quoting, and JSON; both list every record.
        let total = try daemon.scalar("SELECT count(*) FROM logs")
        let csv = try await daemon.getText("/api/monitoring/export?format=csv&type=logs&period=1h")
        #expect(csv.status == 200 && csv.contentType.hasPrefix("text/csv"))
        let records = CSV.parse(csv.body)
        #expect(records.first == ExportKind.logs.columns)
        #expect(Int64(records.count - 1) == total)
        let quoted = records.first { $0.count > 5 && $0[5].hasPrefix("login") }
        #expect(quoted?[5] == "login [REDACTED] failed, \"quoted\"")
        let json = try await daemon.getText("/api/monitoring/export?format=json&type=logs&period=1h")
        let array = try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [[String: Any]]
        #expect(Int64(array?.count ?? -1) == total)

        let plain = try Self.latestValue(daemon, "mon_agent_logs_plain_lines_total") ?? 0
        let invalid = try Self.latestValue(daemon, "mon_agent_logs_invalid_utf8_total") ?? 0
        #expect(plain >= 2 && invalid >= 1, "garbage lines are counted")
        #expect(monagent.isRunning && monquery.isRunning)
    }
}

extension AppSignalsTests {
    @Test("agent killed and restarted, file rotated while it was away: every line stored exactly once")
    func logsAcrossAgentRestart() async throws {
        let daemon = try Daemon.make()
        let logDirectory = try TestEnvironment.makeDirectory("restartlogs")
        let path = "\(logDirectory)/app.log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let environment = [
            "MONAGENT_LOG_PATHS": path, "MONAGENT_LOGS_POLL_INTERVAL_MS": "50", "MONAGENT_COLLECTORS": "cpu",
        ]
        func stored() throws -> Int64 { try daemon.scalar("SELECT count(*) FROM logs") }
        var monagent = try daemon.startAgent(interval: 0.5, extra: environment)
        _ = try await eventually("agent connected") { () -> Bool? in
            monagent.log.contains("connected to monquery") ? true : nil
        }
        try await Task.sleep(for: .milliseconds(300))
        for seq in 0..<50 { try Self.append(Self.line(seq), to: path) }
        _ = try await eventually("first 50 lines") { () -> Bool? in try stored() == 50 ? true : nil }
        // Killed right after more lines: some may be read, shipped or acked — none may be lost or doubled.
        for seq in 50..<80 { try Self.append(Self.line(seq), to: path) }
        try await Task.sleep(for: .milliseconds(60))
        monagent.stop(SIGKILL)
        for seq in 80..<100 { try Self.append(Self.line(seq), to: path) }
        monagent = try daemon.startAgent(interval: 0.5, extra: environment)
        _ = try await eventually("100 lines after the restart") { () -> Bool? in try stored() >= 100 ? true : nil }
        // Stopped cleanly, rotated while away, restarted: the old file is finished first.
        monagent.stop()
        for seq in 100..<110 { try Self.append(Self.line(seq), to: path) }
        try FileManager.default.moveItem(atPath: path, toPath: "\(path).1")
        for seq in 110..<130 { try Self.append(Self.line(seq), to: path) }
        monagent = try daemon.startAgent(interval: 0.5, extra: environment)
        defer { monagent.stop() }
        _ = try await eventually("130 lines after the rotation") { () -> Bool? in try stored() >= 130 ? true : nil }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try stored() == 130)
        #expect(try daemon.scalar("SELECT count(DISTINCT (fields->>'seq')::int) FROM logs") == 130)
    }
}

/// `promtool check metrics` (Debian's prometheus package, installed by scripts/test).
enum Promtool {
    static let path = ProcessInfo.processInfo.environment["MON_TEST_PROMTOOL"] ?? "/usr/bin/promtool"

    /// Passes the exposition to promtool on stdin; fails the test with its complaints.
    static func check(_ exposition: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("promtool not found at \(path); scripts/test installs the prometheus package")
        }
        let (status, report) = try await runProgram(path, ["check", "metrics"], input: exposition)
        #expect(status == 0, "promtool check metrics: \(report)")
    }
}

/// RFC 4180 reader for the export test.
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text.unicodeScalars)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" {
                        field.unicodeScalars.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field)
                field = ""
            } else if c == "\r" {
                continue
            } else if c == "\n" {
                record.append(field)
                records.append(record)
                record = []
                field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        return records
    }
}
