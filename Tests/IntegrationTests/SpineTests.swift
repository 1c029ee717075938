import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The whole path on real parts: monagent → Unix socket → monquery → PostgreSQL → JSON API.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL + built binaries)"))
struct SpineTests {
    @Test("host metrics reach the API with per-process rows, in today's partition")
    func hostMetricsEndToEnd() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent()
        defer {
            monagent.stop()
            monquery.stop()
        }

        let cpu = try await eventually("a current CPU value with postgres and monagent rows") { () -> [String: Any]? in
            let (status, json) = try await daemon.get("/api/monitoring/system/cpu?period=5m&step=10s")
            guard status == 200, let body = json as? [String: Any], let hosts = body["hosts"] as? [[String: Any]],
                let host = hosts.first(where: { $0["host"] as? String == "it-host" }),
                let current = host["current"] as? [String: Any], current["usage_percent"] is Double,
                let processes = host["processes"] as? [[String: Any]],
                processes.contains(where: {
                    $0["group"] as? String == "monagent" && ($0["processes"] as? Int ?? 0) >= 1
                })
            else { return nil }
            return host
        }
        let processes = try #require(cpu["processes"] as? [[String: Any]])
        let postgres = try #require(processes.first { $0["group"] as? String == "postgres" })
        #expect((postgres["processes"] as? Int ?? 0) >= 1)
        #expect((postgres["rss_bytes"] as? Double ?? Double(postgres["rss_bytes"] as? Int ?? 0)) > 0)
        let usage = try #require((cpu["current"] as? [String: Any])?["usage_percent"] as? Double)
        #expect((0...100).contains(usage))
        #expect(!(cpu["series"] as? [Any] ?? []).isEmpty)

        for endpoint in ["memory", "disk", "network"] {
            let (status, json) = try await daemon.get("/api/monitoring/system/\(endpoint)?host=it-host")
            #expect(status == 200)
            let hosts = try #require((json as? [String: Any])?["hosts"] as? [[String: Any]])
            #expect(hosts.map { $0["host"] as? String } == ["it-host"], "\(endpoint)")
        }
        let memory = try await daemon.get("/api/monitoring/system/memory")
        let memoryHost = try #require(((memory.json as? [String: Any])?["hosts"] as? [[String: Any]])?.first)
        let memoryCurrent = try #require(memoryHost["current"] as? [String: Any])
        #expect((memoryCurrent["total_bytes"] as? Int ?? 0) > 0)

        let today = DayPartition(timestampMs: WallClock.nowMs())
        let inToday = try daemon.scalar(
            "SELECT count(*) FROM metrics WHERE tableoid = $1::regclass",
            [today.partitionName(of: "metrics")]
        )
        #expect(inToday > 0)
        let partitions = try daemon.column(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'metrics'::regclass"
        )
        for ahead in 1...3 {
            #expect(partitions.contains(today.adding(days: Int64(ahead)).partitionName(of: "metrics")))
        }
    }

    @Test("killing monquery and restarting it loses no cycle and duplicates none")
    func daemonRestartLosesNothing() async throws {
        let daemon = try Daemon.make()
        var monquery = try daemon.start()
        let monagent = try daemon.startAgent(interval: 0.2)
        defer { monagent.stop() }

        _ = try await eventually("first batches stored") { () -> Int64? in
            let count = try? daemon.scalar("SELECT count(*) FROM ingest_ledger")
            return (count ?? 0) >= 5 ? count : nil
        }
        monquery.stop(SIGKILL)
        let killedMs = WallClock.nowMs()
        try await Task.sleep(for: .seconds(3))
        monquery = try daemon.start()
        let restartedMs = WallClock.nowMs()
        defer { monquery.stop() }
        // Let the agent replay what it queued and send a few more cycles.
        let storedBefore = try daemon.scalar("SELECT count(*) FROM ingest_ledger")
        _ = try await eventually("replayed batches and new cycles") { () -> Int64? in
            let count = try daemon.scalar("SELECT count(*) FROM ingest_ledger")
            let newest = try daemon.scalar(
                "SELECT coalesce((extract(epoch FROM max(batch_ts)) * 1000)::bigint, 0) FROM ingest_ledger")
            return count >= storedBefore + 20 && newest > restartedMs + 1000 ? count : nil
        }
        monagent.stop()

        // One statement, one snapshot: a batch the agent sent just before it stopped may
        // commit between two separate queries and make the ledger and the cycles disagree.
        let snapshot = try #require(
            try daemon.column(
                """
                SELECT (SELECT count(*) FROM ingest_ledger) || ' ' || (SELECT max(seq) FROM ingest_ledger) || ' '
                    || coalesce(string_agg((extract(epoch FROM m.ts) * 1000)::bigint::text, ' ' ORDER BY m.ts), '')
                FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE s.name = 'mon_agent_cycle_duration_seconds' AND s.host = 'it-host'
                """
            ).first.flatMap { $0 }
        ).split(separator: " ").compactMap { Int64($0) }
        try #require(snapshot.count >= 3, "ledger count, highest seq and at least one cycle")
        let batches = snapshot[0]
        let maxSeq = snapshot[1]
        let timestamps = Array(snapshot.dropFirst(2))
        let first = try #require(timestamps.first)
        let last = try #require(timestamps.last)
        // Every batch the agent built is stored exactly once, and each is one cycle.
        #expect(batches == maxSeq, "a batch is missing from the ledger")
        #expect(Set(timestamps).count == timestamps.count, "a cycle was stored twice")
        #expect(Int64(timestamps.count) == batches, "one stored cycle per batch")
        // The stored cycles span the outage, on the interval grid, but for the agent's first:
        // it runs at start, stamped when it ran (`PeriodicService.Schedule.startThenAligned`).
        #expect(first < killedMs && last > restartedMs)
        #expect(timestamps.dropFirst().allSatisfy { $0 % 200 == 0 })
    }

    @Test("hostile frames close only their own connection; other agents keep flowing")
    func hostileFrames() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(interval: 0.2)
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("agent connected") { () -> Int64? in
            let count = try? daemon.scalar("SELECT count(*) FROM ingest_ledger")
            return (count ?? 0) >= 1 ? count : nil
        }

        var random = SystemRandomNumberGenerator()
        let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }
        let attacks: [(String, [UInt8], Bool)] = [
            ("4 GiB length", [0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x00], false),
            ("truncated frame", [0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01], true),
            ("random bytes", garbage, false),
            ("unknown type", [0x00, 0x00, 0x00, 0x01, 0x63], false),
        ]
        for (name, bytes, halfClose) in attacks {
            let closed = try RawSocket.sendAndAwaitClose(path: daemon.socketPath, bytes: bytes, halfClose: halfClose)
            #expect(closed, "\(name): the daemon should close the connection")
        }
        let before = try daemon.scalar("SELECT count(*) FROM ingest_ledger")
        _ = try await eventually("batches still stored after the attacks") { () -> Int64? in
            let count = try daemon.scalar("SELECT count(*) FROM ingest_ledger")
            return count >= before + 5 ? count : nil
        }
        #expect(monquery.isRunning)
        let log = monquery.log
        #expect(log.contains("frame_too_large"))
        #expect(log.contains("truncated_frame"))
        #expect(log.contains("unknown message type 99"))
    }

    @Test("the same batch sent twice is stored once")
    func replayIsIdempotent() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let agent = AgentIdentity(agentID: "a1", host: "h1", bootID: "b1")
        let batch = Batch(
            seq: 1,
            createdMs: now,
            samples: [
                Sample("mon_test_value", ["k": "v"], value: 1.5, timestampMs: now),
                Sample("mon_test_value", ["k": "w"], value: .nan, timestampMs: now),
                Sample("mon_test_old", value: 1, timestampMs: now - 30 * 86_400_000),
            ]
        )
        #expect(try await writer.store(batch, from: agent, nowMs: now) == .stored(samples: 2, rejected: 1))
        #expect(try await writer.store(batch, from: agent, nowMs: now) == .duplicate)
        #expect(try daemon.scalar("SELECT count(*) FROM metrics") == 2)
        #expect(try await writer.lastStoredSeq(agentID: "a1", bootID: "b1") == 1)
        #expect(try await writer.lastStoredSeq(agentID: "a1", bootID: "other") == 0)
        let flat = try daemon.column(
            "SELECT metadata->>'k' FROM metrics_flat WHERE metric_name = 'mon_test_value' ORDER BY 1")
        #expect(flat == ["v", "w"])
    }

    @Test("a second writer resolves series another one created, and creates only the new ones")
    func seriesCreatedElsewhereResolve() async throws {
        let daemon = try Daemon.make()
        let first = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await first.migrate()
        let second = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        let now = WallClock.nowMs()
        let agent = AgentIdentity(agentID: "a1", host: "h1", bootID: "b1")
        let one = Batch(
            seq: 1, createdMs: now,
            samples: [
                Sample("mon_test_value", ["k": "a"], value: 1, timestampMs: now),
                Sample("mon_test_value", ["k": "b"], value: 2, timestampMs: now),
            ])
        let two = Batch(
            seq: 2, createdMs: now,
            samples: [
                Sample("mon_test_value", ["k": "a"], value: 10, timestampMs: now + 1),
                Sample("mon_test_value", ["k": "b"], value: 20, timestampMs: now + 1),
                Sample("mon_test_value", ["k": "c"], value: 30, timestampMs: now + 1),
            ])
        #expect(try await first.store(one, from: agent, nowMs: now) == .stored(samples: 2, rejected: 0))
        // `second` has an empty series cache: a and b conflict with first's rows, c is new.
        #expect(try await second.store(two, from: agent, nowMs: now) == .stored(samples: 3, rejected: 0))
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series WHERE name = 'mon_test_value'") == 3)
        let stored = try daemon.column(
            """
            SELECT (s.labels->>'k') || '=' || sum(m.value)::text FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = 'mon_test_value' GROUP BY s.labels->>'k' ORDER BY 1
            """)
        #expect(stored == ["a=11", "b=22", "c=30"])
    }
}

/// A raw Unix stream client that sends bytes and reports whether the peer closed.
enum RawSocket {
    static func sendAndAwaitClose(path: String, bytes: [UInt8], halfClose: Bool) throws -> Bool {
        let client = try IngestRawClient(path: path, timeoutSeconds: 5)
        client.send(bytes: bytes)
        if halfClose { shutdown(client.descriptor, Int32(SHUT_WR)) }
        return client.awaitClose()  // reset counts as closed; timeout does not
    }
}
