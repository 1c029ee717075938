import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Retention drops whole daily partitions past each table's horizon, never rows.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct RetentionTests {
    @Test("expired partitions are listed by --dry-run, then detached and dropped; the rest and the ledger stay right")
    func dropsExpiredPartitions() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let today = DayPartition(timestampMs: now)
        try await writer.ensurePartitions((-40...1).map { today.adding(days: Int64($0)) })
        let old = today.adding(days: -10)
        try daemon.execute(
            "INSERT INTO metrics VALUES ('\(old.startLiteral)'::timestamptz + interval '1 hour', 1, 1)")
        try daemon.execute(
            "INSERT INTO events VALUES ('\(today.adding(days: -20).startLiteral)', 'h', 'k', 'key', '{}')")
        try daemon.execute(
            """
            INSERT INTO ingest_ledger (agent_id, boot_id, seq, host, samples, batch_ts, received_at)
            VALUES ('a', 'b', 1, 'h', 0, now(), now() - interval '10 days'), ('a', 'b', 2, 'h', 0, now(), now())
            """)

        // Raw days the rollups have not passed are kept (their minutes would be lost).
        let waiting = try await Self.run(["retention", "--dry-run"], databaseURL: daemon.databaseURL)
        #expect(waiting.contains("keeping (rollups not past it yet) \(old.partitionName(of: "metrics"))"))
        try daemon.execute("UPDATE rollup_state SET watermark = now()")

        // The CLI's dry run lists and changes nothing.
        let report = try await Self.run(["retention", "--dry-run"], databaseURL: daemon.databaseURL)
        #expect(report.contains("would drop \(old.partitionName(of: "metrics"))"))
        #expect(!report.contains("would drop \(today.adding(days: -7).partitionName(of: "metrics"))"))
        #expect(report.contains("would drop \(today.adding(days: -31).partitionName(of: "events"))"))
        #expect(!report.contains("would drop \(today.adding(days: -30).partitionName(of: "events"))"))
        #expect(try daemon.scalar("SELECT count(*) FROM metrics") == 1)

        let expired = try await writer.expiredPartitions(policy: .defaults, nowMs: now)
        // metrics, histograms, logs, spans: days -40 … -8 (33 each); events, statements_1h
        // (kept like events), metrics_1m and histograms_1m: -40 … -31 (10 each); the hour
        // rollups keep 400 days.
        let expectedCount = 33 * 4 + 10 * 4
        #expect(expired.count == expectedCount)
        let waitingCount = expired.filter(\.waitingForRollup).count
        #expect(waitingCount == 0)
        for partition in expired { try await writer.drop(partition) }
        #expect(try await writer.expiredPartitions(policy: .defaults, nowMs: now).isEmpty)
        #expect(try daemon.scalar("SELECT count(*) FROM metrics") == 0, "the old sample went with its partition")
        #expect(try daemon.scalar("SELECT count(*) FROM events") == 1, "events keep 30 days")
        let remaining = try daemon.scalar(
            """
            SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'metrics'
            """)
        #expect(remaining == 9, "days -7 … +1")
        #expect(try await writer.trimLedger(days: 7) == 1)
        #expect(try daemon.scalar("SELECT count(*) FROM ingest_ledger") == 1)
        // A late batch for a kept day still finds its partition.
        let agent = AgentIdentity(agentID: "late", host: "h", bootID: "b")
        let late = Batch(seq: 1, createdMs: now, samples: [Sample("m", value: 1, timestampMs: now - 86_400_000)])
        #expect(try await writer.store(late, from: agent, nowMs: now) == .stored(samples: 1, rejected: 0))
    }

    /// Runs monquery with the test database; its standard output.
    static func run(_ arguments: [String], databaseURL: String) async throws -> String {
        let binary = try #require(TestEnvironment.binDirectory) + "/monquery"
        let (status, text) = try await runProgram(
            binary, arguments, environment: ["MONQUERY_DATABASE_URL": databaseURL, "PATH": "/usr/bin:/bin"])
        #expect(status == 0, "monquery \(arguments): \(text)")
        return text
    }
}
