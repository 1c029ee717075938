import Foundation
import MonCore
import MonQueryKit
import Synchronization
import Testing

/// The writer's `COPY` path for log lines against a real PostgreSQL: rows stored as the
/// `INSERT` path stores them (NUL removed, fields that are not an object as `{}`, the same
/// search vector), the ids handed to the live stream are the stored ones, and a batch with a
/// line already stored falls back to the `INSERT` path without storing it twice.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct LogCopyTests {
    final class Committed: Sendable {
        let logs = Mutex<[StoredLog]>([])
        func add(_ batch: CommittedBatch) { logs.withLock { $0 += batch.logs } }
    }

    static let columns =
        "host, service, level, event, logger, trace_id, fields::text, source, \"offset\", search::text, "
        + "(extract(epoch FROM ts) * 1000)::bigint"

    func rows(_ daemon: Daemon, _ condition: String) throws -> [String] {
        try daemon.column(
            "SELECT concat_ws(' | ', \(Self.columns)) FROM logs WHERE \(condition) ORDER BY \"offset\""
        )
        .map { $0 ?? "NULL" }
    }

    @Test("COPY stores what INSERT stores; a line already stored falls back without a duplicate")
    func copyMatchesInsert() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let committed = Committed()
        let writer = IngestWriter(
            databaseURL: daemon.databaseURL, logger: .init(label: "test"), onCommit: { committed.add($0) })
        try await writer.migrate()
        try await writer.maintainPartitions(aheadDays: 1, nowMs: now)
        let agent = AgentIdentity(agentID: "copy", host: "copy-host", bootID: "b")
        // Awkward content: NUL characters, non-ASCII text, fields that are not an object or not
        // JSON, nested fields, optional columns absent and present.
        func lines(source: String) -> [LogRecord] {
            [
                LogRecord(
                    timestampMs: now, level: .error, service: "api\u{0}", event: "payment failed: état 😱",
                    logger: "billing", traceID: "t-1", fields: #"{"user": {"id": 7}, "tags": ["a", "b"]}"#,
                    source: source, offset: 10),
                LogRecord(
                    timestampMs: now + 1, level: .info, service: "api", event: "a\u{0}b", fields: "[1, 2]",
                    source: source, offset: 20),
                LogRecord(
                    timestampMs: now + 2, level: .warning, service: "api", event: "plain", logger: nil,
                    traceID: nil, fields: "not json", source: source, offset: 30),
                LogRecord(
                    timestampMs: now + 3, level: .debug, service: "api", event: "quoted \"x\" \\ y",
                    fields: #"{"b": 1, "a": "\u00e9"}"#, source: source, offset: 40),
            ]
        }
        let first = try await writer.store(
            Batch(seq: 1, createdMs: now, samples: [], logs: lines(source: "/a.log")), from: agent, nowMs: now)
        #expect(first == .stored(samples: 0, rejected: 0))
        #expect(await writer.logCopyFallbacks == 0, "no line was stored before: COPY")

        // The same lines again in a new batch (the agent re-read its file), with new lines of
        // another file: the COPY fails on the line index, the INSERT path stores the new lines only.
        let again = lines(source: "/a.log") + lines(source: "/b.log")
        let second = try await writer.store(
            Batch(seq: 2, createdMs: now, samples: [], logs: again), from: agent, nowMs: now)
        #expect(second == .stored(samples: 0, rejected: 0))
        #expect(await writer.logCopyFallbacks == 1)
        #expect(try daemon.scalar("SELECT count(*) FROM logs") == 8, "the re-read lines are not stored twice")

        // The rows of /a.log (COPY) and /b.log (INSERT … RETURNING) are the same but for the file.
        let copied = try rows(daemon, "source = '/a.log'")
        let inserted = try rows(daemon, "source = '/b.log'").map {
            $0.replacingOccurrences(of: "/b.log", with: "/a.log")
        }
        #expect(copied.count == 4)
        #expect(copied == inserted)
        #expect(copied.first?.contains("api | ") == true, "NUL removed from the service")
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE fields = '{}'::jsonb") == 4, "non-objects as {}")

        // A batch repeating one of its own lines (a hostile or confused sender): stored once.
        let twice = LogRecord(
            timestampMs: now + 9, level: .info, service: "api", event: "twice", source: "/c.log", offset: 5)
        let third = try await writer.store(
            Batch(seq: 3, createdMs: now, samples: [], logs: [twice, twice]), from: agent, nowMs: now)
        #expect(third == .stored(samples: 0, rejected: 0))
        #expect(await writer.logCopyFallbacks == 2)
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE source = '/c.log'") == 1)
        committed.logs.withLock { $0.removeAll { $0.record.source == "/c.log" } }
        try daemon.execute("DELETE FROM logs WHERE source = '/c.log'")

        // What the live stream received: the stored ids, in order, each once.
        let streamed = committed.logs.withLock { $0 }
        let storedIDs = try daemon.column("SELECT id FROM logs ORDER BY id").compactMap { $0.flatMap { Int64($0) } }
        #expect(streamed.map(\.id) == storedIDs)
        #expect(
            streamed.map(\.record.source) == Array(repeating: "/a.log", count: 4) + Array(repeating: "/b.log", count: 4)
        )
        #expect(streamed[1].record.event == "ab")
        #expect(streamed[2].record.fields == "{}")
    }
}
