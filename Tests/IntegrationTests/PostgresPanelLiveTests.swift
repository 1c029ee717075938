import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Issue 24's PostgreSQL pieces on a live system: partitioned tables as one entry, the
/// slow-statement timeline, and the application's connection pool from real StatsD clients.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.isAvailable && MonitoredPostgres.url != nil, "needs scripts/test (monitored cluster)")
)
struct PostgresPanelLiveTests {
    static let hostileTable = "we<script>alert(1)</script>'\"é"

    static func tables(_ daemon: Daemon) async throws -> [[String: Any]]? {
        let (status, json) = try await daemon.get("/api/monitoring/postgres/tables?limit=1000")
        let hosts = (json as? [String: Any])?["hosts"] as? [[String: Any]]
        return status == 200 ? hosts?.first?["tables"] as? [[String: Any]] : nil
    }

    @Test("a partitioned table with 3 partitions is one entry (partitioned, 3 partitions) in the API and on the page")
    func partitionedTables() async throws {
        let monitored = try MonitoredPostgres.makeDatabase()
        let workload = try PostgresConnection(url: monitored, applicationName: "workload")
        let quoted = "\"" + Self.hostileTable.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        try workload.execute(
            rawSQL: """
                CREATE TABLE events (id int NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);
                CREATE TABLE events_p1 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
                CREATE TABLE events_p2 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
                CREATE TABLE events_p3 PARTITION OF events FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
                INSERT INTO events SELECT i, date '2026-01-01' + (i % 90) FROM generate_series(1, 9000) i;
                CREATE TABLE plain (id int);
                INSERT INTO plain VALUES (1);
                CREATE TABLE \(quoted) (id int);
                INSERT INTO \(quoted) VALUES (1);
                """)
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: [
                "MONAGENT_POSTGRES_URL": monitored, "MONAGENT_POSTGRES_TABLES_INTERVAL": "1",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        let tables = try await eventually("the partitioned table in the snapshot") { () -> [[String: Any]]? in
            let tables = try await Self.tables(daemon)
            return tables?.contains { $0["table"] as? String == "public.events" } == true ? tables : nil
        }
        let events = try #require(tables.first { $0["table"] as? String == "public.events" })
        #expect(events["partitioned"] as? Bool == true && events["partitions"] as? Double == 3, "\(events)")
        #expect((events["total_bytes"] as? Double ?? 0) > 0, "the leaves' sizes summed into the parent: \(events)")
        let names = tables.compactMap { $0["table"] as? String }
        #expect(!names.contains { $0.hasPrefix("public.events_p") }, "partitions listed apart: \(names)")
        let plain = try #require(tables.first { $0["table"] as? String == "public.plain" })
        #expect(plain["partitioned"] as? Bool == false && plain["partitions"] as? Double == 0)
        #expect(names.contains("public.\(Self.hostileTable)"), "\(names)")

        let page = try await daemon.getText("/ui/monitoring/postgres?period=1h&fragment=postgres-tables")
        #expect(page.status == 200)
        #expect(page.body.contains("public.events (partitioned, 3 partitions)"), "\(page.body)")
        #expect(page.body.contains("<caption class=\"sr-only\">Partitioned tables</caption>"))
        #expect(!page.body.contains("<script>") && page.body.contains("we&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test("the slow-statement timeline: calls and mean per bucket from planted deltas; bad parameters named")
    func statementTimeline() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        try await writer.maintainPartitions(aheadDays: 2, nowMs: now)
        let step: Int64 = 600_000
        // Deltas of a slow statement at three times (two in one bucket), and a quicker one.
        let planted: [(key: String, agoMinutes: Int64, calls: Double, totalMs: Double)] = [
            ("1:77", 45, 2, 1_000), ("1:77", 45, 3, 2_000), ("1:77", 15, 4, 800), ("1:78", 15, 10, 10),
        ]
        let events = planted.enumerated().map { index, delta in
            Event(
                kind: "pg_statement", key: delta.key, timestampMs: now - delta.agoMinutes * 60_000 + Int64(index),
                payload: .object([
                    ("queryid", .string(String(delta.key.dropFirst(2)))), ("database", "app"),
                    ("calls", .number(delta.calls)), ("total_exec_ms", .number(delta.totalMs)),
                    ("mean_exec_ms", .number(delta.totalMs / delta.calls)),
                    (
                        "query",
                        .string(delta.key == "1:77" ? "SELECT pg_sleep($1) /* <script>x</script> */" : "SELECT 1")
                    ),
                ]))
        }
        let batch = Batch(seq: 1, createdMs: now, samples: [], events: events)
        _ = try await writer.store(batch, from: AgentIdentity(agentID: "t", host: "db-1", bootID: "b"), nowMs: now)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the daemon's HTTP API") {
            try? await daemon.get("/health").status == 200 ? true : nil
        }

        let (status, json) = try await daemon.get("/api/monitoring/postgres/slow_queries/timeline?period=1h&step=10m")
        #expect(status == 200, "\(json)")
        let body = try #require(json as? [String: Any])
        #expect(body["step"] as? String == "10m")
        let statements = try #require(body["statements"] as? [[String: Any]])
        #expect(statements.map { $0["queryid"] as? String } == ["77", "78"], "by total time: \(statements)")
        let buckets = try #require(statements.first?["buckets"] as? [[String: Any]])
        #expect(buckets.count >= 6 && buckets.count <= 7, "\(buckets.count) buckets of 10 m over 1 h")
        func bucket(_ agoMinutes: Int64) -> [String: Any]? {
            let start = ClosedOpenRange.floor(now - agoMinutes * 60_000, step)
            return buckets.first { $0["timestamp"] as? String == Timestamp.iso8601(ms: start) }
        }
        #expect(bucket(45)?["calls"] as? Double == 5 && bucket(45)?["mean_ms"] as? Double == 600, "\(buckets)")
        #expect(bucket(15)?["calls"] as? Double == 4 && bucket(15)?["mean_ms"] as? Double == 200, "\(buckets)")
        let empty = buckets.filter { $0["calls"] as? Double == 0 }
        #expect(empty.count == buckets.count - 2 && empty.allSatisfy { $0["mean_ms"] is NSNull }, "\(buckets)")
        #expect(statements.first?["calls"] as? Double == 9)

        let page = try await daemon.getText("/ui/monitoring/postgres?period=1h&fragment=postgres-timeline")
        #expect(page.status == 200 && page.body.contains("statement-timeline"), "\(page.body.prefix(500))")
        #expect(page.body.contains("/* &lt;script&gt;x&lt;/script&gt; */") && !page.body.contains("<script>"))

        for (query, parameter) in [
            ("period=9x", "period"), ("step=0s", "step"), ("step=1s", "step"), ("from=yesterday", "from"),
            ("to=2026-01-01T00:00:00Z", "to"), ("limit=21", "limit"), ("period=1h&from=1796350200", "from"),
            ("nope=1", "nope"),
        ] {
            let (status, json) = try await daemon.get("/api/monitoring/postgres/slow_queries/timeline?\(query)")
            let message = ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(status == 400 && message.hasPrefix(parameter), "\(query): \(json)")
        }
    }

    @Test(
        "pool gauges from the real statsd and datadog clients: checked out of size; hostile figures named, page intact")
    func applicationPool() async throws {
        let python = try #require(TestEnvironment.realAppPython)
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let port = TestEnvironment.freePort()
        let monagent = try daemon.startAgent(
            interval: 0.25, extra: ["MONAGENT_COLLECTORS": "cpu", "MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(port)"])
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("StatsD receiver listening") {
            monagent.log.contains("address=\"udp") ? true : nil
        }
        // What README's snippets send: SQLAlchemy's figures with the plain client, asyncpg's
        // with DogStatsD and a pool tag.
        let script = """
            import statsd, sys
            from datadog.dogstatsd import DogStatsd
            port = int(sys.argv[1])
            plain = statsd.StatsClient("127.0.0.1", port)
            plain.gauge("db.pool.size", 20)
            plain.gauge("db.pool.checked_out", 7)
            plain.gauge("db.pool.overflow", max(-13, 0))
            dog = DogStatsd(host="127.0.0.1", port=port, disable_telemetry=True)
            dog.gauge("db.pool.size", 10, tags=["pool:replica"])
            dog.gauge("db.pool.checked_out", 9, tags=["pool:replica"])
            dog.flush()
            """
        let sent = try await runProgram(python, ["-c", script, "\(port)"])
        #expect(sent.status == 0, "\(sent.output)")
        let sender = UDPSender(port: port)
        defer { sender.close() }
        let hostilePool = "<script>alert(1)</script>"
        for line in [
            "db.pool.size:-5|g|#pool:\(hostilePool)", "db.pool.checked_out:nan|g|#pool:\(hostilePool)",
            "db.pool.checked_out:1e308|g|#pool:\(hostilePool)", "db.pool.overflow:-1e308|g|#pool:\(hostilePool)",
        ] {
            sender.send(line)
        }

        let pools = try await eventually("three pools, the hostile one with its figures") { () -> [[String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/postgres/pool?period=1h")
            let hosts = (json as? [String: Any])?["hosts"] as? [[String: Any]]
            let pools = hosts?.first?["pools"] as? [[String: Any]] ?? []
            let hostile = pools.first { $0["pool"] as? String == hostilePool }
            let ready = status == 200 && pools.count == 3 && (hostile?["problems"] as? [String])?.count == 3
            return ready ? pools : nil
        }
        let main = try #require(pools.first { $0["pool"] as? String == "default" })
        #expect(
            main["size"] as? Double == 20 && main["checked_out"] as? Double == 7 && main["overflow"] as? Double == 0)
        #expect(main["usage_percent"] as? Double == 35 && (main["problems"] as? [Any])?.isEmpty == true)
        #expect((main["series"] as? [[String: Any]])?.isEmpty == false)
        let replica = try #require(pools.first { $0["pool"] as? String == "replica" })
        #expect(replica["size"] as? Double == 10 && replica["checked_out"] as? Double == 9)
        #expect(replica["usage_percent"] as? Double == 90 && replica["overflow"] is NSNull)
        let hostile = try #require(pools.first { $0["pool"] as? String == hostilePool })
        #expect(hostile["size"] is NSNull && hostile["checked_out"] is NSNull && hostile["usage_percent"] is NSNull)
        // -1e308 is an overflow of none (SQLAlchemy's negative overflow) only down to -maximum.
        let problems = hostile["problems"] as? [String] ?? []
        #expect(problems.contains { $0.hasPrefix("db.pool.size -5 is not a pool figure") }, "\(problems)")
        // 1e308 (stored clamped to SQLNumbers.doubleLimit, still far beyond any pool).
        #expect(
            problems.contains { $0.hasPrefix("db.pool.checked_out ") && $0.contains("is not a pool figure") },
            "\(problems)")
        // `nan` is no number: the agent refuses the line (counted as malformed), the gauge keeps 1e308.
        _ = try await eventually("the NaN line counted as malformed") {
            try AppSignalsTests.latestValue(daemon, "mon_agent_statsd_malformed_total").map { $0 >= 1 ? true : nil }
                ?? nil
        }

        let page = try await daemon.getText("/ui/monitoring/postgres?period=1h")
        #expect(page.status == 200)
        #expect(page.body.contains("Pool default: checked out <b>7</b> / size <b>20</b> (overflow 0)"), "\(page.body)")
        #expect(page.body.contains("Pool replica: checked out <b>9</b> / size <b>10</b>"))
        #expect(page.body.contains("pool-usage") && page.body.contains("class=\"bar st-warn\""))
        #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;: db.pool.size -5 is not a pool figure"))
        #expect(!page.body.contains("<script>alert(1)"), "the pool tag escaped")
        #expect(page.body.contains("id=\"postgres-tables\""), "the rest of the page still renders")
        let (bad, json) = try await daemon.get("/api/monitoring/postgres/pool?period=1h&to=2026-01-01T00:00:00Z")
        let message = ((json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(bad == 400 && message.hasPrefix("to"), "\(json)")
    }
}
