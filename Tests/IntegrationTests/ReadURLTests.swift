import Foundation
import MonCore
import MonQueryKit
import Testing

/// `database.read_url`: the API reads there (a replica), everything else writes `database.url`.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct ReadURLTests {
    /// A log line written straight into `databaseURL`'s `logs` (migrated first).
    static func writeLog(_ databaseURL: String, event: String) async throws {
        try await TestEnvironment.migrate(databaseURL, nowMs: WallClock.nowMs())
        let connection = try PostgresConnection(url: databaseURL, applicationName: "mon-tests")
        try connection.query(
            """
            INSERT INTO logs (ts, host, service, level, event, fields, source, "offset")
            VALUES (now() - interval '1 minute', 'h1', 'api', 40, $1, '{}', 'app.log', 0)
            """, [event])
    }

    @Test("with database.read_url the API answers from that database; ingest still stores into database.url")
    func apiReadsTheReadURL() async throws {
        let daemon = try Daemon.make()
        let replica = try TestEnvironment.makeDatabase()
        try await Self.writeLog(replica, event: "only-in-the-replica")
        try await Self.writeLog(daemon.databaseURL, event: "only-in-the-primary")
        let monquery = try daemon.start(extra: ["MONQUERY_DATABASE_READ_URL": replica])
        let agent = try daemon.startAgent(extra: ["MONAGENT_COLLECTORS": "cpu"])
        defer {
            agent.stop()
            monquery.stop()
        }
        let events = try await eventually("the API answers") { () -> [String]? in
            guard let (status, json) = try? await daemon.get("/api/monitoring/logs?since=1h&limit=100"), status == 200,
                let logs = (json as? [String: Any])?["logs"] as? [[String: Any]]
            else { return nil }
            return logs.compactMap { $0["event"] as? String }
        }
        #expect(events.contains("only-in-the-replica"))
        #expect(!events.contains("only-in-the-primary"))
        // The agent's batches land in database.url, never in the read database.
        _ = try await eventually("a batch stored in database.url") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM ingest_ledger") > 0 ? true : nil
        }
        let replicaBatches = try PostgresConnection(url: replica, applicationName: "mon-tests")
            .query("SELECT count(*) FROM ingest_ledger").int(0, 0)
        #expect(replicaBatches == 0)
    }
}
