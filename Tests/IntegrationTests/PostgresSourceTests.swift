import Foundation
import Logging
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The PostgreSQL source against a second, real PostgreSQL 15 cluster with pg_stat_statements.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.isAvailable && MonitoredPostgres.url != nil, "needs scripts/test (monitored cluster)")
)
struct PostgresSourceTests {
    @Test(
        "slow statements get counts, a plan and an index suggestion; a stats reset never goes negative; PostgreSQL going away is survived"
    )
    func slowQueriesWithPlans() async throws {
        let monitored = try MonitoredPostgres.makeDatabase()
        let workload = try PostgresConnection(url: monitored, applicationName: "workload")
        try workload.execute(
            rawSQL: """
                CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                CREATE TABLE big (id serial PRIMARY KEY, payload text NOT NULL);
                INSERT INTO big (payload) SELECT md5(i::text) || md5((i * 7)::text) FROM generate_series(1, 200000) i;
                ANALYZE big;
                """
        )
        let daemon = try Daemon.make(authenticated: true)
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: [
                "MONAGENT_POSTGRES_URL": monitored,
                "MONAGENT_POSTGRES_STATEMENTS_INTERVAL": "0.5",
                "MONAGENT_POSTGRES_TABLES_INTERVAL": "1",
                "MONAGENT_POSTGRES_SLOW_THRESHOLD_MS": "10",
                "MONAGENT_POSTGRES_SUGGEST_MIN_TABLE_BYTES": "1048576",
            ]
        )
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("postgres status up") { () -> Bool? in
            let (status, json) = try await daemon.get("/api/monitoring/postgres/status")
            let hosts = (json as? [String: Any])?["hosts"] as? [[String: Any]]
            return status == 200 && hosts?.first?["up"] as? Bool == true ? true : nil
        }
        // Let the agent take its baseline reading of pg_stat_statements first.
        try await Task.sleep(for: .seconds(1))
        for _ in 0..<3 {
            try workload.query("SELECT count(*) FROM big WHERE payload LIKE $1", ["%abc%"])
            try workload.query("SELECT pg_sleep(0.2)")
        }

        let statements = try await eventually("both slow statements, the scan with a plan and suggestion") {
            () -> [[String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/postgres/slow_queries?period=5m&limit=50")
            guard status == 200, let rows = (json as? [String: Any])?["statements"] as? [[String: Any]] else {
                return nil
            }
            let scan = rows.first { ($0["query"] as? String)?.contains("LIKE") == true }
            let sleep = rows.first { ($0["query"] as? String)?.contains("pg_sleep") == true }
            let scanCalls = scan?["calls"] as? Double ?? Double(scan?["calls"] as? Int ?? 0)
            guard let scan, sleep != nil, scanCalls >= 3, scan["plan"] is [Any],
                let suggestions = scan["suggestions"] as? [[String: Any]], !suggestions.isEmpty
            else { return nil }
            return rows
        }
        let scan = try #require(statements.first { ($0["query"] as? String)?.contains("LIKE") == true })
        #expect((scan["calls"] as? Double ?? Double(scan["calls"] as? Int ?? 0)) >= 3)
        let suggestion = try #require((scan["suggestions"] as? [[String: Any]])?.first)
        #expect((suggestion["table"] as? String)?.hasSuffix("big") == true)
        #expect(suggestion["columns"] as? [String] == ["payload"])
        #expect(suggestion["kind"] as? String == "trigram_index")
        let sleep = try #require(statements.first { ($0["query"] as? String)?.contains("pg_sleep") == true })
        #expect((sleep["mean_ms"] as? Double ?? 0) >= 190)
        #expect(scan["query_truncated"] as? Bool == false, "the admin role sees whole texts")

        // The viewer role gets the queryid and a truncated text; no token is 401; logs need admin.
        let viewer = try #require(daemon.tokens?.viewer)
        let (viewerStatus, viewerJSON) = try await daemon.get(
            "/api/monitoring/postgres/slow_queries?period=5m&limit=50", token: viewer)
        #expect(viewerStatus == 200)
        let viewerRows = (viewerJSON as? [String: Any])?["statements"] as? [[String: Any]] ?? []
        let viewerScan = try #require(viewerRows.first { $0["queryid"] as? String == scan["queryid"] as? String })
        let shown = try #require(viewerScan["query"] as? String)
        #expect(shown.count <= 41 && shown.hasSuffix("…") && viewerScan["query_truncated"] as? Bool == true)
        #expect(try await daemon.get("/api/monitoring/postgres/slow_queries", token: "").status == 401)
        #expect(try await daemon.get("/api/monitoring/postgres/slow_queries", token: "wrong").status == 401)
        #expect(try await daemon.get("/api/monitoring/logs", token: viewer).status == 403)
        #expect(try await daemon.get("/health", token: "").status == 200)

        // Prometheus: bounded PostgreSQL aggregates, never a queryid or a query text.
        let metrics = try await daemon.getText("/metrics")
        #expect(metrics.body.contains("mon_postgres_cache_hit_ratio{host="))
        #expect(metrics.body.contains("# TYPE mon_postgres_statements_slow_total counter"))
        #expect(!metrics.body.contains("queryid") && !metrics.body.contains("LIKE"))
        try await Promtool.check(metrics.body)

        // A statistics reset mid-run: deltas restart, never negative.
        try workload.query("SELECT pg_stat_statements_reset()")
        try workload.query("SELECT pg_sleep(0.05)")
        _ = try await eventually("an interval after the reset") { () -> Int64? in
            let count = try daemon.scalar(
                "SELECT count(*) FROM events WHERE kind = 'pg_statement' AND payload->>'query' LIKE '%pg_sleep%' AND (payload->>'mean_exec_ms')::float8 < 100"
            )
            return count > 0 ? count : nil
        }
        let negative = try daemon.scalar(
            """
            SELECT count(*) FROM events WHERE kind = 'pg_statement'
              AND ((payload->>'calls')::float8 < 0 OR (payload->>'total_exec_ms')::float8 < 0
                   OR (payload->>'rows')::float8 < 0 OR (payload->>'shared_blks_hit')::float8 < 0)
            """
        )
        #expect(negative == 0)

        for path in ["connections", "tables", "indexes"] {
            let (status, json) = try await daemon.get("/api/monitoring/postgres/\(path)")
            #expect(status == 200, "\(path)")
            let hosts = (json as? [String: Any])?["hosts"] as? [Any] ?? []
            #expect(!hosts.isEmpty, "\(path)")
        }
        let tables = try await daemon.get("/api/monitoring/postgres/tables")
        let tableRows =
            (((tables.json as? [String: Any])?["hosts"] as? [[String: Any]])?.first?["tables"] as? [[String: Any]])
            ?? []
        #expect(
            tableRows.contains {
                $0["table"] as? String == "public.big" && ($0["total_bytes"] as? Int ?? 0) > 1_000_000
            })
        monagent.stop()
        monquery.stop()

        // PostgreSQL stopped mid-run: host metrics keep flowing, errors name no password, metrics resume.
        try await serverGoesAway()
    }

    @Test(
        "each statement's text is read once and shipped with every delta; a statement run again after pg_stat_statements_reset() has its text"
    )
    func statementTexts() async throws {
        let monitored = try MonitoredPostgres.makeDatabase()
        let database = String(monitored[monitored.index(after: try #require(monitored.lastIndex(of: "/")))...])
        let workload = try PostgresConnection(url: monitored, applicationName: "workload")
        try workload.execute(
            rawSQL: """
                CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                CREATE TABLE items (id int, a int, b int);
                INSERT INTO items SELECT g, g, g FROM generate_series(1, 10) g;
                """)
        // Twenty statements with distinct query ids: a different select list each.
        let columns = ["id", "a", "b"]
        let lists =
            columns.map { [$0] } + columns.flatMap { first in columns.map { [first, $0] } }
            + columns.flatMap { first in columns.map { [first, "a", $0] } }
        let statements = lists.prefix(20).map { "SELECT \($0.joined(separator: ", ")) FROM items WHERE id = 1" }
        var config = PostgresSourceConfig(url: monitored)
        config.statementsInterval = 0.05  // every collect below reads pg_stat_statements
        config.plansTop = 0
        let collector = PostgresCollector(config: config, logger: Logger(label: "it-pg-texts"))
        var ms: Int64 = 1_000_000

        func poll() async throws -> [[String: Any]] {
            ms += 1_000
            let output = await collector.collect(timestampMs: ms)
            #expect(output.samples.contains { $0.name == "mon_postgres_up" && $0.value == 1 })
            var malformed = 0
            let statements = StatementBundle.expanding(output.events, malformed: &malformed)
            #expect(malformed == 0)
            #expect(!output.events.contains { $0.kind == "pg_statement" }, "statements ship in bundles")
            return try statements.filter { $0.kind == "pg_statement" }.compactMap { event in
                let payload = try JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any]
                return payload?["database"] as? String == database ? payload : nil
            }
        }
        func ours(_ events: [[String: Any]]) -> [String: [String: Any]] {
            var byText: [String: [String: Any]] = [:]
            for event in events {
                if let text = event["query"] as? String, text.contains("FROM items") { byText[text] = event }
            }
            return byText
        }

        _ = try await poll()  // the baseline
        for statement in statements { try workload.query(statement) }
        let first = ours(try await poll())
        #expect(first.count == statements.count, "\(first.keys.sorted())")
        for (_, event) in first {
            #expect(event["user"] as? String == "postgres")
            #expect(event["calls"] as? Double == 1)
        }
        // Run again: every delta still carries its text (now from the cache).
        for statement in statements { try workload.query(statement) }
        let second = ours(try await poll())
        #expect(Set(second.keys) == Set(first.keys))
        #expect(second.values.allSatisfy { $0["reset"] as? Bool == false && $0["calls"] as? Double == 1 })

        // A reset, a poll that sees the entries gone, then one statement back with its text.
        try workload.query("SELECT pg_stat_statements_reset()")
        _ = try await poll()
        try workload.query(statements[3])
        let back = ours(try await poll())
        #expect(back.count == 1)
        #expect(back.values.first?["calls"] as? Double == 1)
        // A reset and a run between two polls: the same query id comes back as a reset delta, with its text.
        try workload.query("SELECT pg_stat_statements_reset()")
        try workload.query(statements[3])
        try workload.query(statements[3])
        let again = ours(try await poll())
        #expect(again.count == 1)
        #expect(again.values.first?["reset"] as? Bool == true)
        #expect(again.values.first?["calls"] as? Double == 2)
    }

    /// Runs after the slow-query scenario, in the same test: both use the monitored cluster,
    /// and this one stops it.
    func serverGoesAway() async throws {
        let pgdata = try #require(MonitoredPostgres.pgdata)
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let secret = "pw-\(UInt32.random(in: 0...UInt32.max))"
        let url = try #require(MonitoredPostgres.url).replacingOccurrences(of: "postgres@", with: "postgres:\(secret)@")
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: ["MONAGENT_POSTGRES_URL": url, "MONAGENT_POSTGRES_TABLES_INTERVAL": "3600"]
        )
        defer {
            monagent.stop()
            monquery.stop()
            _ = try? MonitoredPostgres.pgctl(pgdata, "start")
        }
        try await SourceOutage(
            daemon: daemon,
            monagent: monagent,
            upMetric: "mon_postgres_up",
            failureMessage: "PostgreSQL collection failed",
            secret: secret
        ).run(
            stop: { try MonitoredPostgres.pgctl(pgdata, "stop") },
            start: { try MonitoredPostgres.pgctl(pgdata, "start") })
    }
}

/// The monitored cluster started by scripts/test.
enum MonitoredPostgres {
    static var url: String? { TestEnvironment.environment["MON_TEST_MONITORED_URL"] }
    static var pgdata: String? { TestEnvironment.environment["MON_TEST_MONITORED_PGDATA"] }

    static func makeDatabase() throws -> String {
        let base = try #require(url)
        let name = "workload_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(url: base, applicationName: "mon-tests")
        try admin.execute(rawSQL: "CREATE DATABASE \(name)")
        guard let slash = base.lastIndex(of: "/") else { throw TestFailure("bad MON_TEST_MONITORED_URL") }
        return base[..<slash] + "/" + name
    }

    /// `pg_ctl stop|start` on the monitored cluster, as the postgres user.
    static func pgctl(_ pgdata: String, _ action: String) throws {
        let bin = TestEnvironment.environment["MON_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        let port = TestEnvironment.environment["MON_TEST_MONITORED_PORT"] ?? "5432"
        let directory = (pgdata as NSString).deletingLastPathComponent
        var arguments = ["-u", "postgres", "--", "\(bin)/pg_ctl", "-D", pgdata, "-w", "-t", "60"]
        if action == "stop" {
            arguments += ["-m", "fast", "stop"]
        } else {
            arguments += [
                "-l", "\(directory)/server.log", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c fsync=off",
                "start",
            ]
        }
        // posix_spawn + waitpid: Foundation's Process can miss the exit of a child whose
        // own child (the postmaster) daemonizes.
        let argv = (["/usr/sbin/runuser"] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/usr/sbin/runuser", nil, nil, argv, environ) == 0 else {
            throw TestFailure("cannot spawn runuser")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw TestFailure("pg_ctl \(action) failed with status \(status)") }
    }
}
