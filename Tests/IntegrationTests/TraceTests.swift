import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Spans end to end on the daemon: batches with spans over the real wire into PostgreSQL
/// (stored once, odd rows cleaned or left out and counted), the two trace routes, the trace
/// pages, and retention of the `spans` partitions.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct TraceTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let otherTrace = "0af7651916cd43dd8448eb211c80319c"

    /// A request: server span, a Redis GET and a PostgreSQL query inside it, an error span
    /// after them; timed from `start` (ns).
    static func requestSpans(start: Int64) -> [SpanRecord] {
        let ms: Int64 = 1_000_000
        return [
            SpanRecord(
                traceID: traceID, spanID: "00f067aa0ba902b7", service: "api", name: "GET /api/v1/search",
                kind: .server, startNs: start, durationNs: 100 * ms,
                attributes: #"{"http.request.method":"GET","http.route":"/api/v1/search"}"#),
            SpanRecord(
                traceID: traceID, spanID: "00f067aa0ba902b8", parentSpanID: "00f067aa0ba902b7", service: "api",
                name: "GET", kind: .client, startNs: start + 10 * ms, durationNs: 5 * ms,
                attributes: #"{"db.system":"redis"}"#),
            SpanRecord(
                traceID: traceID, spanID: "00f067aa0ba902b9", parentSpanID: "00f067aa0ba902b7", service: "api",
                name: "SELECT", kind: .client, startNs: start + 20 * ms, durationNs: 60 * ms,
                attributes: #"{"db.system":"postgresql","db.statement":"SELECT 1"}"#),
            SpanRecord(
                traceID: traceID, spanID: "00f067aa0ba902ba", parentSpanID: "00f067aa0ba902b7", service: "worker",
                name: "render\u{0}", kind: .internal, startNs: start + 85 * ms, durationNs: 10 * ms, status: .error,
                statusMessage: "boom", attributes: "not json", events: #"{"not":"an array"}"#),
        ]
    }

    @Test(
        "spans over the wire: stored once (replay, retried span), odd ones cleaned or counted; /traces and /traces/{id}"
    )
    func endToEnd() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("monquery serving") { try? await daemon.getText("/health").status == 200 ? true : nil }
        let now = WallClock.nowMs()
        let start = (now - 5_000) * 1_000_000
        var spans = Self.requestSpans(start: start)
        // Left out and counted: a name too long to index.
        spans.append(
            SpanRecord(
                traceID: Self.otherTrace, spanID: "1111111111111111", service: "api",
                name: String(repeating: "n", count: 5000), startNs: start, durationNs: 1))
        let log = LogRecord(
            timestampMs: now - 5_000, level: .info, service: "api", event: "search done", traceID: Self.traceID)
        let first = Batch(seq: 1, createdMs: now, samples: [], logs: [log], spans: spans)
        // The exporter retried: the root again (same trace, span, start) with one new span.
        let retried = SpanRecord(
            traceID: Self.otherTrace, spanID: "2222222222222222", service: "batch", name: "nightly",
            kind: .internal, startNs: start - 1_000_000_000, durationNs: 3_000_000)
        let second = Batch(seq: 2, createdMs: now, samples: [], spans: [spans[0], retried])
        let socket = daemon.socketPath
        let acks = try await offPool { () -> [UInt64] in
            let client = try IngestRawClient(path: socket)
            _ = try client.hello(agentID: "trace-agent", host: "trace-host", bootID: "boot-1")
            var acked: [UInt64] = []
            for batch in [first, first, second] {
                client.send(.batch(batch))
                if case .ack(let ack) = try client.receive() { acked.append(ack) }
            }
            return acked
        }
        #expect(acks == [1, 1, 2])
        #expect(try daemon.scalar("SELECT count(*) FROM spans WHERE trace_id = $1", [Self.traceID]) == 4)
        #expect(try daemon.scalar("SELECT count(*) FROM spans WHERE trace_id = $1", [Self.otherTrace]) == 1)
        let cleaned = try daemon.column(
            "SELECT concat_ws('|', name, attributes::text, events::text, status, status_message, host) FROM spans WHERE span_id = '00f067aa0ba902ba'"
        )
        #expect(cleaned == ["render|{}|[]|error|boom|trace-host"])
        #expect(try await daemon.metric("mon_query_ingest_dropped_total", labels: "reason=\"span\"") == 1)

        // The list: newest first, one row per trace, filters on one span.
        let (status, json) = try await daemon.get("/api/monitoring/traces?since=1h")
        #expect(status == 200)
        let list = try #require(json as? [String: Any])
        let traces = try #require(list["traces"] as? [[String: Any]])
        #expect(traces.map { $0["trace_id"] as? String } == [Self.traceID, Self.otherTrace])
        let top = traces[0]
        #expect(top["span_count"] as? Int == 4 && top["error_count"] as? Int == 1)
        #expect((top["root"] as? [String: Any])?["name"] as? String == "GET /api/v1/search")
        #expect(top["services"] as? [String] == ["api", "worker"])
        #expect(abs((top["duration_ms"] as? Double ?? 0) - 100) < 0.01)
        for (query, expected) in [
            ("status=error", [Self.traceID]), ("service=batch", [Self.otherTrace]),
            ("min_duration_ms=50", [Self.traceID]), ("min_duration_ms=200", []), ("name=SELECT", [Self.traceID]),
            ("host=trace-host", [Self.traceID, Self.otherTrace]), ("host=other", []),
        ] {
            let (code, body) = try await daemon.get("/api/monitoring/traces?since=1h&\(query)")
            let ids = ((body as? [String: Any])?["traces"] as? [[String: Any]] ?? []).compactMap {
                $0["trace_id"] as? String
            }
            #expect(code == 200 && ids == expected, "\(query): \(code) \(ids)")
        }
        // Paging: one per page, the cursor reaches the older one, then the end.
        let (_, pageOne) = try await daemon.get("/api/monitoring/traces?since=1h&limit=1")
        let cursor = try #require((pageOne as? [String: Any])?["next_cursor"] as? String)
        let (_, pageTwo) = try await daemon.get("/api/monitoring/traces?since=1h&limit=1&cursor=\(cursor)")
        let two = try #require(pageTwo as? [String: Any])
        #expect((two["traces"] as? [[String: Any]])?.first?["trace_id"] as? String == Self.otherTrace)
        #expect(two["next_cursor"] is NSNull)

        // One trace: the tree, self times, the critical path.
        let (treeStatus, treeJSON) = try await daemon.get("/api/monitoring/traces/\(Self.traceID.uppercased())")
        #expect(treeStatus == 200)
        let tree = try #require(treeJSON as? [String: Any])
        let nodes = try #require(tree["spans"] as? [[String: Any]])
        #expect(
            nodes.map { $0["span_id"] as? String } == [
                "00f067aa0ba902b7", "00f067aa0ba902b8", "00f067aa0ba902b9", "00f067aa0ba902ba",
            ])
        #expect(nodes.map { $0["depth"] as? Int } == [0, 1, 1, 1])
        let selfTimes = nodes.map { (($0["self_time_ms"] as? Double) ?? -1).rounded() }
        #expect(selfTimes == [25, 5, 60, 10])
        #expect(
            tree["critical_path"] as? [String] == [
                "00f067aa0ba902b7", "00f067aa0ba902b8", "00f067aa0ba902b9", "00f067aa0ba902ba",
            ])
        #expect((nodes[2]["attributes"] as? [String: Any])?["db.system"] as? String == "postgresql")
        #expect(try await daemon.get("/api/monitoring/traces/ffffffffffffffffffffffffffffffff").status == 404)
        #expect(try await daemon.get("/api/monitoring/traces/not-a-trace").status == 400)

        // The pages: one bar per span, the list links it, the log line links it.
        let page = try await daemon.getText("/ui/monitoring/traces/\(Self.traceID)")
        #expect(page.status == 200)
        #expect(page.body.components(separatedBy: "<g class=\"span-bar").count - 1 == 4)
        #expect(page.body.contains("cat-redis") && page.body.contains("cat-db"))
        let listPage = try await daemon.getText("/ui/monitoring/traces?period=1h")
        #expect(listPage.status == 200 && listPage.body.contains("/ui/monitoring/traces/\(Self.traceID)"))
        let logs = try await daemon.getText("/ui/monitoring/logs?period=1h")
        #expect(logs.body.contains("href=\"/ui/monitoring/traces/\(Self.traceID)\""))
        #expect(try await daemon.getText("/ui/monitoring/traces/ffffffffffffffffffffffffffffffff").status == 404)
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }

    @Test("headless Chromium renders the trace page: one SVG bar per span, the critical path outlined")
    func chromiumWaterfall() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let spans = Self.requestSpans(start: (now - 2_000) * 1_000_000)
        let batch = Batch(seq: 1, createdMs: now, samples: [], spans: spans)
        let agent = AgentIdentity(agentID: "chromium", host: "trace-host", bootID: "b")
        #expect(try await writer.store(batch, from: agent, nowMs: now) == .stored(samples: 0, rejected: 0))
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("monquery serving") { try? await daemon.getText("/health").status == 200 ? true : nil }
        // Authentication is off: the login form passes any token through to the page.
        let chromium = try await ChromiumRun.make(daemon: daemon, token: "auth-off")
        defer { chromium.stop() }
        let target = "/ui/monitoring/traces/\(Self.traceID)?period=1h"
        try chromium.writeLoginPage(token: "auth-off", next: target)
        let dom = try await chromium.dumpDOM(next: target)
        let bars = dom.components(separatedBy: "<g class=\"span-bar").count - 1
        #expect(bars == 4, "bars in the rendered DOM: \(bars)")
        #expect(dom.contains("<svg class=\"waterfall\""))
        let critical = dom.components(separatedBy: " critical\"").count - 1
        #expect(critical == 4, "every span of this trace is on its critical path: \(critical)")
        #expect(dom.contains("cat-redis") && dom.contains("cat-db") && dom.contains("cat-server"))
    }

    @Test("a viewer token sees the trace's shape and the operation's attributes, an admin token everything stored")
    func viewerSeesShapeNotData() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let start = (now - 2_000) * 1_000_000
        let spans = [
            SpanRecord(
                traceID: Self.traceID, spanID: "00f067aa0ba902b7", service: "api", name: "GET /api/v1/users/{id}",
                kind: .server, startNs: start, durationNs: 50_000_000, status: .error,
                statusMessage: "user 4242 alice@example.com not found",
                attributes:
                    #"{"http.request.method":"GET","http.route":"/api/v1/users/{id}","url.full":"http://x/api/v1/users/4242?email=alice@example.com","enduser.id":"4242"}"#,
                events:
                    #"[{"name":"exception","time_unix_nano":1,"attributes":{"exception.type":"KeyError","exception.message":"alice@example.com"}}]"#
            ),
            SpanRecord(
                traceID: Self.traceID, spanID: "00f067aa0ba902b8", parentSpanID: "00f067aa0ba902b7", service: "api",
                name: "SELECT", kind: .client, startNs: start + 1_000_000, durationNs: 10_000_000,
                attributes:
                    #"{"db.system":"postgresql","db.statement":"SELECT * FROM users WHERE email = 'alice@example.com'"}"#
            ),
        ]
        let agent = AgentIdentity(agentID: "disclosure", host: "trace-host", bootID: "b")
        let batch = Batch(seq: 1, createdMs: now, samples: [], spans: spans)
        #expect(try await writer.store(batch, from: agent, nowMs: now) == .stored(samples: 0, rejected: 0))
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("monquery serving") { try? await daemon.getText("/health").status == 200 ? true : nil }
        let path = "/api/monitoring/traces/\(Self.traceID)"

        let (viewerStatus, viewerJSON) = try await daemon.get(path, token: tokens.viewer)
        #expect(viewerStatus == 200)
        let viewer = try #require(viewerJSON as? [String: Any])
        #expect(viewer["details"] as? String == "viewer")
        let viewerSpans = try #require(viewer["spans"] as? [[String: Any]])
        #expect(viewerSpans.count == 2, "the whole tree, with its timings")
        #expect(viewerSpans.map { $0["name"] as? String } == ["GET /api/v1/users/{id}", "SELECT"])
        #expect(
            viewerSpans[0]["attributes"] as? [String: String] == [
                "http.request.method": "GET", "http.route": "/api/v1/users/{id}",
            ])
        #expect(viewerSpans[1]["attributes"] as? [String: String] == ["db.system": "postgresql"])
        #expect(
            viewerSpans.map { $0["hidden_details"] as? Int } == [4, 1], "url, user, message and event text; statement")
        #expect(viewerSpans[0]["status"] as? String == "error" && viewerSpans[0]["status_message"] as? String == "")
        let event = try #require((viewerSpans[0]["events"] as? [[String: Any]])?.first)
        #expect(event["name"] as? String == "exception")
        #expect(event["attributes"] as? [String: String] == ["exception.type": "KeyError"])
        let viewerText = String(decoding: try JSONSerialization.data(withJSONObject: viewerJSON), as: UTF8.self)
        #expect(!viewerText.contains("alice") && !viewerText.contains("4242"), "no user data reaches a viewer")

        let (adminStatus, adminJSON) = try await daemon.get(path, token: tokens.admin)
        #expect(adminStatus == 200)
        let admin = try #require(adminJSON as? [String: Any])
        #expect(admin["details"] as? String == "full")
        let adminSpans = try #require(admin["spans"] as? [[String: Any]])
        #expect(adminSpans.map { $0["hidden_details"] as? Int } == [0, 0])
        #expect((adminSpans[0]["attributes"] as? [String: Any])?["enduser.id"] as? String == "4242")
        #expect((adminSpans[1]["attributes"] as? [String: Any])?["db.statement"] != nil)
        #expect(adminSpans[0]["status_message"] as? String == "user 4242 alice@example.com not found")
        #expect(try await daemon.get(path, token: "").status == 401)
    }

    @Test("retention drops expired spans partitions like the logs'")
    func retention() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let today = DayPartition(timestampMs: now)
        try await writer.ensurePartitions((-10...1).map { today.adding(days: Int64($0)) })
        for offset in [-9, -3] {
            try daemon.execute(
                """
                INSERT INTO spans (start, host, trace_id, span_id, service, name, kind, duration_ns, status)
                VALUES ('\(today.adding(days: Int64(offset)).startLiteral)'::timestamptz + interval '1 hour', 'h',
                        '\(Self.traceID)', '\(String(format: "%016x", 100 + offset))', 's', 'n', 'server', 1, 'unset')
                """)
        }
        try daemon.execute("UPDATE rollup_state SET watermark = now()")
        var policy = RetentionPolicy.defaults
        policy.days["spans"] = 5
        let expired = try await writer.expiredPartitions(policy: policy, nowMs: now).filter { $0.table == "spans" }
        #expect(expired.map(\.day) == (-10 ... -6).map { today.adding(days: Int64($0)) })
        for partition in expired { try await writer.drop(partition) }
        #expect(try daemon.scalar("SELECT count(*) FROM spans") == 1, "the span of day -3 stays")
    }
}
