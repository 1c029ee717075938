import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Least-privilege EXPLAIN against the monitored PostgreSQL (issue 18): the application's
/// role owns its database and can create schemas and functions there; nothing it plants
/// makes the agent run its code, plan as more than a read-only, time-bounded transaction,
/// or plan statements of other roles and databases.
extension HostileInputTests {
    @Test(
        "EXPLAIN: read-only, search_path pinned, timeouts; a schema named after the agent's role cannot shadow anything; other roles and databases are not planned",
        .enabled(if: MonitoredPostgres.url != nil, "needs the monitored cluster of scripts/test"))
    func leastPrivilegeExplain() async throws {
        let base = try #require(MonitoredPostgres.url)
        let tag = UInt32.random(in: 0...UInt32.max)
        let (app, agent, other, database) = ("app_\(tag)", "agent_\(tag)", "other_\(tag)", "hostile_\(tag)")
        func url(_ user: String, _ name: String) throws -> String {
            guard let slash = base.lastIndex(of: "/") else { throw TestFailure("bad MON_TEST_MONITORED_URL") }
            return base[..<slash].replacingOccurrences(of: "postgres@", with: "\(user)@") + "/" + name
        }
        let admin = try PostgresConnection(url: base, applicationName: "mon-tests")
        try admin.execute(
            rawSQL: """
                CREATE ROLE \(app) LOGIN; CREATE ROLE \(other) LOGIN;
                CREATE ROLE \(agent) LOGIN; GRANT pg_monitor TO \(agent);
                """)
        try admin.execute(rawSQL: "CREATE DATABASE \(database) OWNER \(app)")
        try PostgresConnection(url: try url("postgres", database), applicationName: "mon-tests").execute(
            rawSQL: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        let workload = try PostgresConnection(url: try url(app, database), applicationName: "workload")
        try workload.execute(rawSQL: Self.applicationSchema(agent: agent, other: other))

        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: [
                "MONAGENT_COLLECTORS": "cpu", "MONAGENT_POSTGRES_URL": try url(agent, database),
                "MONAGENT_POSTGRES_STATEMENTS_INTERVAL": "0.5", "MONAGENT_POSTGRES_TABLES_INTERVAL": "3600",
                "MONAGENT_POSTGRES_SLOW_THRESHOLD_MS": "10", "MONAGENT_POSTGRES_PLANS_TOP": "20",
                "MONAGENT_POSTGRES_STATEMENT_TIMEOUT_MS": "5000", "MONAGENT_POSTGRES_EXPLAIN_TIMEOUT_MS": "500",
                "MONAGENT_POSTGRES_SUGGEST_MIN_TABLE_BYTES": "1",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("pg_stat_statements read by the agent") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM events WHERE kind = 'pg_status'") > 0 ? true : nil
        }
        try await Task.sleep(for: .seconds(1))  // the agent's baseline reading first
        for _ in 0..<2 {
            for marker in ["probe()", "nap()", "lookup()", "side()", "escape()"] {
                try workload.query("SELECT \(marker), pg_sleep(0.03)")
            }
            try workload.query("SELECT (SELECT count(*) FROM items WHERE payload LIKE $1), pg_sleep(0.03)", ["%ab%"])
            try workload.query("SELECT (SELECT count(*) FROM items WHERE id = steady()), pg_sleep(0.03)")
        }
        let otherRole = try PostgresConnection(url: try url(other, database), applicationName: "workload")
        try otherRole.query("SELECT pg_sleep(0.03) AS other_role")
        let otherDatabase = try PostgresConnection(url: try url(app, "postgres"), applicationName: "workload")
        try otherDatabase.query("SELECT pg_sleep(0.03) AS other_database")
        // Holds a lock planning needs, taken right after the statement ends (one message: the
        // agent sees the statement only once it ended, and then the lock is already held).
        let locker = try PostgresConnection(url: try url(app, database), applicationName: "workload")
        try locker.execute(
            rawSQL: """
                BEGIN; SELECT (SELECT count(*) FROM locked_t), pg_sleep(0.03) AS locked_plan;
                LOCK TABLE locked_t IN ACCESS EXCLUSIVE MODE;
                """)
        defer { try? locker.execute(rawSQL: "ROLLBACK") }

        let markers = [
            "probe()", "nap()", "lookup()", "side()", "escape()", "steady()", "LIKE", "other_role", "other_database",
            "locked_plan",
        ]
        let plans = try await eventually("a plan or a refusal for each statement", seconds: 90) {
            () -> [String: (error: String?, plan: String?)]? in
            var found: [String: (error: String?, plan: String?)] = [:]
            for marker in markers {
                guard let row = try Self.planEvent(daemon, containing: marker) else { return nil }
                found[marker] = row
            }
            return found
        }
        try locker.execute(rawSQL: "ROLLBACK")
        func error(_ marker: String) -> String { plans[marker]?.error ?? "" }

        // What planning-time code sees: read-only, the pinned path, the timeouts, the agent's role.
        let probe = error("probe()")
        #expect(probe.contains("read_only=on"), "\(probe)")
        #expect(probe.contains(#"search_path=pg_catalog, "public", pg_temp"#), "\(probe)")
        #expect(probe.contains("statement_timeout=500ms") && probe.contains("lock_timeout=100ms"), "\(probe)")
        #expect(probe.contains("user=\(agent)"), "\(probe)")
        #expect(error("nap()").contains("statement timeout"), "a slow plan is cut: \(error("nap()"))")
        #expect(error("locked_plan").contains("lock timeout"), "\(error("locked_plan"))")
        // The attacker's schema, first in the agent's default search_path, is never searched.
        #expect(plans["lookup()"]?.plan != nil && plans["lookup()"]?.error == nil, "\(error("lookup()"))")
        let items = try #require(plans["LIKE"]?.plan)
        #expect(items.contains(#""Schema": "public""#) && !items.contains(#""Schema": "\#(agent)""#))
        // A VOLATILE function is never run by EXPLAIN; a STABLE one may be, to estimate a
        // selectivity: under the same read-only transaction. Neither can leave read-only.
        #expect(plans["side()"]?.plan != nil && plans["side()"]?.error == nil, "\(error("side()"))")
        #expect(error("steady()").contains("read_only=on"), "\(error("steady()"))")
        #expect(
            error("escape()").contains("read-write") && !error("escape()").contains("escaped"), "\(error("escape()"))")
        #expect(error("other_role").contains("are not planned"), "\(error("other_role"))")
        #expect(error("other_database").contains("another database"), "\(error("other_database"))")
        #expect(!monagent.log.contains("attacker code ran"))
        #expect(try daemon.scalar("SELECT count(*) FROM events WHERE payload::text LIKE '%attacker code ran%'") == 0)
        #expect(monagent.isRunning)
    }

    /// The error and plan of the `pg_plan` event whose statement text contains `marker`.
    static func planEvent(_ daemon: Daemon, containing marker: String) throws -> (error: String?, plan: String?)? {
        let connection = try PostgresConnection(url: daemon.databaseURL, applicationName: "mon-tests")
        let rows = try connection.query(
            """
            SELECT p.payload->>'error', p.payload->>'plan' FROM events p
            JOIN events s ON s.kind = 'pg_statement' AND s.key = p.key
            WHERE p.kind = 'pg_plan' AND strpos(s.payload->>'query', $1) > 0
            LIMIT 1
            """, [marker])
        guard rows.rowCount > 0 else { return nil }
        return (rows.string(0, 0), rows.string(0, 1))
    }

    /// The application's tables and IMMUTABLE functions (folded into constants while planning,
    /// so they run then), and what an attacker with the application's role plants: a schema
    /// named after the agent's role holding a `lookup()`, an `items` table and a
    /// `pg_stat_statements(boolean)` of its own.
    static func applicationSchema(agent: String, other: String) -> String {
        """
        CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL);
        INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, 20000) i;
        ANALYZE items;
        CREATE TABLE locked_t (id int);
        GRANT SELECT ON items, locked_t TO \(agent), \(other);
        CREATE FUNCTION probe() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('application_name') = 'monagent' THEN
                RAISE EXCEPTION 'probe read_only=% search_path=% statement_timeout=% lock_timeout=% user=%',
                    current_setting('transaction_read_only'), current_setting('search_path'),
                    current_setting('statement_timeout'), current_setting('lock_timeout'), current_user;
            END IF;
            RETURN 1;
        END $$;
        CREATE FUNCTION nap() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('application_name') = 'monagent' THEN PERFORM pg_sleep(30); END IF;
            RETURN 1;
        END $$;
        CREATE FUNCTION lookup() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT 1';
        CREATE FUNCTION side() RETURNS int VOLATILE LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('application_name') = 'monagent' THEN RAISE EXCEPTION 'volatile code ran'; END IF;
            RETURN 1;
        END $$;
        CREATE FUNCTION steady() RETURNS int STABLE LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('application_name') = 'monagent' THEN
                RAISE EXCEPTION 'stable read_only=%', current_setting('transaction_read_only');
            END IF;
            RETURN 1;
        END $$;
        CREATE FUNCTION escape() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('application_name') = 'monagent' THEN
                PERFORM set_config('transaction_read_only', 'off', true);
                RAISE EXCEPTION 'escaped read-only';
            END IF;
            RETURN 1;
        END $$;
        CREATE SCHEMA \(agent);
        GRANT USAGE ON SCHEMA \(agent) TO PUBLIC;
        CREATE FUNCTION \(agent).lookup() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'attacker code ran as %', current_user; END $$;
        CREATE TABLE \(agent).items (id int, payload text);
        GRANT SELECT ON \(agent).items TO \(agent);
        CREATE FUNCTION \(agent).pg_stat_statements(boolean)
            RETURNS TABLE (userid oid, dbid oid, queryid bigint, query text, calls bigint,
                           total_exec_time float8, max_exec_time float8, rows bigint,
                           shared_blks_hit bigint, shared_blks_read bigint)
            LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'attacker code ran as %', current_user; END $$;
        """
    }
}
