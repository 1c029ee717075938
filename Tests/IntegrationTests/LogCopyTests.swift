import Foundation
import MonCore
import MonQueryKit
import NIOCore
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

    /// A migrated writer with today's partitions, and what it hands to the live stream.
    static func writer(_ daemon: Daemon, nowMs: Int64) async throws -> (IngestWriter, Committed) {
        let committed = Committed()
        let writer = IngestWriter(
            databaseURL: daemon.databaseURL, logger: .init(label: "test"), onCommit: { committed.add($0) })
        try await writer.migrate()
        try await writer.maintainPartitions(aheadDays: 1, nowMs: nowMs)
        return (writer, committed)
    }

    @Test("COPY stores what INSERT stores; a line already stored falls back without a duplicate")
    func copyMatchesInsert() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let (writer, committed) = try await Self.writer(daemon, nowMs: now)
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

    @Test(
        "a batch's lines encoded ahead are stored as the writer would encode them; ahead of a batch that lost lines, not used"
    )
    func preparedLines() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let (writer, committed) = try await Self.writer(daemon, nowMs: now)
        let agent = AgentIdentity(agentID: "prepared", host: "prepared-host", bootID: "b")
        func lines(source: String, offsetBase: Int64 = 0) -> [LogRecord] {
            [
                LogRecord(
                    timestampMs: now, level: .error, service: "api\u{0}", event: "état 😱", logger: "billing",
                    traceID: "t-1", fields: #"{"user": {"id": 7}}"#, source: source, offset: offsetBase + 10),
                LogRecord(
                    timestampMs: now + 1, level: .info, service: "api", event: "plain", fields: "not json",
                    source: source, offset: offsetBase + 20),
            ]
        }
        // Prepared and plain: the same rows but for the file.
        let prepared = lines(source: "/p.log")
        let first = try await writer.storeCounting(
            Batch(seq: 1, createdMs: now, samples: [], logs: prepared), from: agent, nowMs: now,
            prepared: IngestWriter.PreparedLogs(prepared, host: agent.host))
        #expect(first.outcome == .stored(samples: 0, rejected: 0))
        _ = try await writer.store(
            Batch(seq: 2, createdMs: now, samples: [], logs: lines(source: "/q.log")), from: agent, nowMs: now)
        let viaPrepared = try rows(daemon, "source = '/p.log'")
        #expect(viaPrepared.count == 2)
        #expect(
            viaPrepared == (try rows(daemon, "source = '/q.log'")).map { $0.replacingOccurrences(of: "/q", with: "/p") }
        )

        // A line out of the accepted time range is left out: the prepared rows (which hold it)
        // are not used, the other line is stored once, with the id the live stream gets.
        var late = lines(source: "/r.log")
        late[0].timestampMs = now - 30 * DayPartition.millisecondsPerDay
        let third = try await writer.storeCounting(
            Batch(seq: 3, createdMs: now, samples: [], logs: late), from: agent, nowMs: now,
            prepared: IngestWriter.PreparedLogs(late, host: agent.host))
        #expect(third.dropped.total == 1)
        #expect(try rows(daemon, "source = '/r.log'").count == 1)
        // Prepared for another host: not used (the rows would carry the wrong host).
        let other = lines(source: "/s.log")
        _ = try await writer.storeCounting(
            Batch(seq: 4, createdMs: now, samples: [], logs: other), from: agent, nowMs: now,
            prepared: IngestWriter.PreparedLogs(other, host: "someone-else"))
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE source = '/s.log' AND host = 'prepared-host'") == 2)

        let streamed = committed.logs.withLock { $0 }
        let storedIDs = try daemon.column("SELECT id FROM logs ORDER BY id").compactMap { $0.flatMap { Int64($0) } }
        #expect(streamed.map(\.id) == storedIDs)
        #expect(
            streamed.map(\.record.source) == ["/p.log", "/p.log", "/q.log", "/q.log", "/r.log", "/s.log", "/s.log"])
    }

    @Test(
        "batches sent without waiting for ACKs (the daemon stores one while it decodes the next): ACKed in order, each stored once"
    )
    func pipelinedBatches() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("daemon up") { (try? await daemon.getText("/health"))?.status == 200 ? true : nil }
        let now = WallClock.nowMs()
        func batch(_ seq: UInt64) -> Batch {
            Batch(
                seq: seq, createdMs: now, samples: [],
                logs: (0..<50).map { line in
                    LogRecord(
                        timestampMs: now, level: .info, service: "api", event: "line \(line) of \(seq)",
                        fields: #"{"seq": \#(seq)}"#, source: "/pipe.log", offset: Int64(seq) * 1000 + Int64(line))
                })
        }
        // A frame that is not a batch (quarantined, acked) between the others.
        var malformed = ByteBuffer()
        malformed.writeInteger(UInt64(4))
        malformed.writeInteger(now)
        malformed.writeInteger(UInt32(1_000_000))
        var sent = (1...8).map { WireMessage.batch(batch($0)).frame() }
        sent[3] = Frame(.batch, payload: malformed)
        // Batch 6 again: a duplicate, acked and not stored twice.
        sent.append(WireMessage.batch(batch(6)).frame())
        let frames = sent
        let socket = daemon.socketPath
        let acks = try await offPool { () -> [UInt64] in
            let client = try IngestRawClient(path: socket)
            _ = try client.hello(agentID: "pipe", host: "pipe-host", bootID: "b1")
            for frame in frames { client.send(frame: frame) }
            var acked: [UInt64] = []
            for _ in frames {
                guard case .ack(let seq) = try client.receive() else { break }
                acked.append(seq)
            }
            return acked
        }
        #expect(acks == [1, 2, 3, 4, 5, 6, 7, 8, 6])
        #expect(try daemon.scalar("SELECT count(*) FROM logs WHERE source = '/pipe.log'") == 7 * 50)
        // One batch after the other: every id of a batch below every id of the next.
        let order = try daemon.column(
            "SELECT (fields->>'seq') FROM logs WHERE source = '/pipe.log' ORDER BY id")
        let seqs = order.compactMap { $0.flatMap { Int($0) } }
        #expect(seqs == seqs.sorted())
        #expect(Set(seqs) == [1, 2, 3, 5, 6, 7, 8])
    }
}
