import Foundation
import MonCore
import MonQueryKit
import Testing

/// The daemon stores a `pg_statements` bundle (agents from issue 22 on) as the `pg_statement`
/// events older agents send one by one: the same rows, and the same slow-queries answer.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct StatementBundleIngestTests {
    @Test func aBundleIsStoredAsThePerStatementEvents() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        try await writer.maintainPartitions(aheadDays: 1, nowMs: now)
        let ts = now - 60_000
        func row(_ index: Int) -> [JSONValue] {
            let query: JSONValue = index % 7 == 0 ? .null : .string("SELECT \(index) FROM \"t\"\nWHERE x = 'é'")
            let counters: [JSONValue] = [
                .number(Double(index + 1)), .number(Double(index) * 1.25), .number(1.25), .number(Double(index) / 3),
                .number(7), .number(100), .number(0),
            ]
            let identity: [JSONValue] = [
                .string("16384:\(index)"), .string(String(index)), .number(16384), .number(10), .string("app"),
                .string("web"),
            ]
            return identity + counters + [.bool(index == 0), query]
        }
        let rows = (0..<300).map(row)
        let columns = StatementBundle.columns
        let old = rows.map { row in
            Event(
                kind: "pg_statement", key: row[0].stringValue ?? "", timestampMs: ts,
                payload: .object(Array(zip(columns.dropFirst(), row.dropFirst()))))
        }
        // Two bundles, as a poll of many statements ships them.
        let bundles = [rows[..<120], rows[120...]].map { part in
            Event(
                kind: StatementBundle.kind, key: "", timestampMs: ts,
                payload: .object([
                    ("columns", .array(columns.map { .string($0) })), ("rows", .array(part.map { .array($0) })),
                ]))
        }
        _ = try await writer.store(
            Batch(seq: 1, createdMs: now, samples: [], events: old),
            from: AgentIdentity(agentID: "old", host: "db-old", bootID: "b"), nowMs: now)
        let outcome = try await writer.storeCounting(
            Batch(seq: 1, createdMs: now, samples: [], events: bundles),
            from: AgentIdentity(agentID: "new", host: "db-new", bootID: "b"), nowMs: now)
        #expect(outcome.dropped.total == 0)
        func stored(_ host: String) throws -> [String?] {
            try daemon.column(
                "SELECT concat_ws('|', ts, kind, key, payload::text) FROM events WHERE host = $1 ORDER BY key",
                [host])
        }
        #expect(try stored("db-old").count == 300)
        #expect(try stored("db-new") == stored("db-old"))
        #expect(try daemon.scalar("SELECT count(*) FROM events WHERE kind = 'pg_statements'") == 0)

        // A malformed bundle is left out and counted; the rest of its batch is stored.
        let broken = Event(kind: StatementBundle.kind, key: "", timestampMs: ts, payload: #"{"rows":[1]}"#)
        let partial = try await writer.storeCounting(
            Batch(seq: 2, createdMs: now, samples: [], events: [broken, old[0]]),
            from: AgentIdentity(agentID: "new", host: "db-new", bootID: "b"), nowMs: now)
        #expect(partial.dropped.total == 1)
        #expect(try daemon.scalar("SELECT count(*) FROM events WHERE host = 'db-new'") == 301)
    }
}
