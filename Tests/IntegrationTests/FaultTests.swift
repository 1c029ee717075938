import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Nothing lost, nothing twice: real processes killed, PostgreSQL stopped, spool files torn.
/// Each check reads the ingest ledger (one row per stored batch) and the host-cycle samples
/// (one `mon_agent_cycle_duration_seconds` per cycle and agent).
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct FaultTests {
    /// (boot ids, stored batches, highest seq) of one agent, from one snapshot: a batch that
    /// commits between separate queries would make the count and the highest seq disagree.
    static func ledger(_ daemon: Daemon, agent: String) throws -> (boots: Int64, batches: Int64, maxSeq: Int64) {
        let row = try #require(
            try daemon.column(
                """
                SELECT count(DISTINCT boot_id) || ' ' || count(*) || ' ' || coalesce(max(seq), 0)
                FROM ingest_ledger WHERE agent_id = $1
                """, [agent]
            ).first.flatMap { $0 }
        ).split(separator: " ").compactMap { Int64($0) }
        try #require(row.count == 3)
        return (row[0], row[1], row[2])
    }

    /// Cycle timestamps stored for `host` (ms), sorted.
    static func cycles(_ daemon: Daemon, host: String) throws -> [Int64] {
        try daemon.column(
            """
            SELECT (extract(epoch FROM m.ts) * 1000)::bigint
            FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = 'mon_agent_cycle_duration_seconds' AND s.host = $1
            ORDER BY 1
            """, [host]
        ).compactMap { $0.flatMap { Int64($0) } }
    }

    /// Every batch of one boot stored exactly once, and each cycle once.
    static func expectExactlyOnce(_ daemon: Daemon, agent: String, host: String) throws {
        let (boots, batches, maxSeq) = try ledger(daemon, agent: agent)
        #expect(boots == 1, "\(agent): the spool kept one identity across restarts")
        #expect(batches == maxSeq, "\(agent): \(batches) batches stored for seq 1…\(maxSeq)")
        let stamps = try cycles(daemon, host: host)
        #expect(Set(stamps).count == stamps.count, "\(host): a cycle was stored twice")
    }

    @Test("fault 1: monquery killed with -9 three times under two agents: every cycle stored exactly once")
    func daemonKilledRepeatedly() async throws {
        let daemon = try Daemon.make()
        var monquery = try daemon.start()
        let agents = try [("fa-1", "fault-a"), ("fb-1", "fault-b")].map { id, host in
            try daemon.startAgent(interval: 0.2, host: host, agentID: id)
        }
        // Batches stored when the running daemon started.
        var before: Int64 = 0
        for round in 1...3 {
            // Flowing: a few batches stored by this daemon. Not a rate: in the parallel phase of
            // a CI run (stops 38 and 39) fewer than 3 a second were stored for a whole minute.
            do {
                _ = try await eventually("batches flowing (round \(round))") { () -> Bool? in
                    try daemon.scalar("SELECT count(*) FROM ingest_ledger") >= before + 3 ? true : nil
                }
            } catch {
                throw TestFailure(
                    "\(error); \(before) batches stored before; monquery's log ends: \(monquery.log.suffix(1500)); "
                        + "fa-1's: \(agents[0].log.suffix(1000))")
            }
            monquery.stop(SIGKILL)
            try await Task.sleep(for: .seconds(1))
            monquery = try daemon.start()
            before = try daemon.scalar("SELECT count(*) FROM ingest_ledger")
        }
        let restartedMs = WallClock.nowMs()
        _ = try await eventually("both agents past the last restart") { () -> Bool? in
            let newest = try daemon.scalar(
                "SELECT coalesce((extract(epoch FROM min(t.m)) * 1000)::bigint, 0) FROM "
                    + "(SELECT max(batch_ts) AS m FROM ingest_ledger GROUP BY agent_id) t")
            return newest > restartedMs + 1000 ? true : nil
        }
        for agent in agents { agent.stop() }
        // Let the last acks land, then check.
        try await Task.sleep(for: .milliseconds(500))
        monquery.stop()
        try Self.expectExactlyOnce(daemon, agent: "fa-1", host: "fault-a")
        try Self.expectExactlyOnce(daemon, agent: "fb-1", host: "fault-b")
    }

    @Test(
        "fault 2: PostgreSQL stopped, then started: nothing lost or doubled, health unhealthy during and healthy after")
    func databaseOutage() async throws {
        let cluster = try await PrivateCluster.make()
        defer { cluster.stopNow() }
        let base = try Daemon.make()
        let daemon = Daemon(
            databaseURL: cluster.databaseURL, socketPath: base.socketPath, httpPort: base.httpPort,
            directory: base.directory)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let monagent = try daemon.startAgent(interval: 0.2, host: "fault-pg", agentID: "fpg-1")
        _ = try await eventually("batches stored") { try Self.ledger(daemon, agent: "fpg-1").batches > 5 ? true : nil }
        try await cluster.stop()
        let stoppedMs = WallClock.nowMs()
        let down = try await eventually("unhealthy while PostgreSQL is down") { () -> Int? in
            guard let (status, json) = try? await daemon.get("/health/detailed"), status == 503,
                (json as? [String: Any])?["status"] as? String == "unhealthy"
            else { return nil }
            return status
        }
        #expect(down == 503)
        // The outage lasts 60 s (MON_TEST_OUTAGE_SECONDS); the agent keeps spooling meanwhile.
        let outage = Double(TestEnvironment.environment["MON_TEST_OUTAGE_SECONDS"] ?? "") ?? 60
        try await Task.sleep(for: .milliseconds(Int(outage * 1000) - Int(WallClock.nowMs() - stoppedMs)))
        try await cluster.start()
        let startedMs = WallClock.nowMs()
        _ = try await eventually("healthy again", seconds: 90) { () -> Bool? in
            guard let (status, _) = try? await daemon.get("/health/detailed") else { return nil }
            return status == 200 ? true : nil
        }
        _ = try await eventually("spool drained past the restart", seconds: 120) { () -> Bool? in
            let newest = try daemon.scalar(
                "SELECT coalesce((extract(epoch FROM max(batch_ts)) * 1000)::bigint, 0) FROM ingest_ledger")
            return newest > startedMs + 1000 ? true : nil
        }
        monagent.stop()
        try Self.expectExactlyOnce(daemon, agent: "fpg-1", host: "fault-pg")
        let stamps = try Self.cycles(daemon, host: "fault-pg")
        let during = stamps.filter { $0 > stoppedMs + 1000 && $0 < startedMs - 1000 }
        // Exactly-once is the ledger check above (every seq stored once); here: the cycles of
        // the outage are among them. Bounds are loose on purpose: a loaded machine skips ticks
        // (the agent never queues missed ones), which is not a loss.
        #expect(Double(during.count) >= (outage - 3) / 0.2 * 0.2, "cycles of the outage replayed: \(during.count)")
        // No hole in the outage: consecutive cycles from just before the stop to just after the
        // start. (Only there: ci50 saw a 6.8 s gap at the agent's start, before the outage, with
        // the machine at load 37 -- skipped ticks, not a loss.)
        let around = stamps.filter { $0 > stoppedMs - 2000 && $0 < startedMs + 2000 }
        let gaps = zip(around, around.dropFirst()).map { $1 - $0 }
        #expect((gaps.max() ?? 0) <= 5000, "largest gap in the outage \(gaps.max() ?? 0) ms")
    }

    @Test("faults 3 and 5: monagent killed with -9 and a torn spool record: replayed, at most the torn batch missing")
    func agentKilledAndTornSpool() async throws {
        let daemon = try Daemon.make()
        // No daemon at first: everything the agent builds waits in its spool.
        let agentID = "fsp-1"
        var monagent = try daemon.startAgent(interval: 0.2, host: "fault-spool", agentID: agentID)
        let spool = "\(daemon.directory)/spool-\(agentID)"
        func segments() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".seg") }.sorted()
        }
        // Whole records in the segments: "MSP1", payload length and CRC (big-endian u32 each),
        // payload (SpoolRecord).
        func spoolRecords() throws -> Int {
            try segments().reduce(0) { total, name in
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: spool + "/" + name)))
                var offset = 0
                var records = 0
                while offset + 12 <= bytes.count, bytes[offset..<offset + 4].elementsEqual("MSP1".utf8) {
                    let length = bytes[offset + 4..<offset + 8].reduce(0) { $0 << 8 | Int($1) }
                    guard offset + 12 + length <= bytes.count else { break }
                    offset += 12 + length
                    records += 1
                }
                return total + records
            }
        }
        // Several records, so tearing the last leaves some whole: a fixed sleep was one record on
        // a loaded machine, and nothing was left to recover. Counted, not inferred from sizes (four
        // times the first one's bytes were not there after 60 s in a loaded CI run).
        do {
            _ = try await eventually("four spool records", seconds: 180) { try spoolRecords() >= 4 ? true : nil }
        } catch {
            print("spool: \(try spoolRecords()) records; monagent log:\n\(monagent.log.suffix(3000))")
            throw error
        }
        monagent.stop(SIGKILL)
        // Tear the last record: cut a few bytes off the newest segment.
        let newest = spool + "/" + (try #require(try segments().last))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: newest)[.size] as? Int)
        #expect(truncate(newest, off_t(size - 3)) == 0)

        monagent = try daemon.startAgent(interval: 0.2, host: "fault-spool", agentID: agentID)
        _ = try await eventually("spool recovered") { monagent.log.contains("spool recovered") ? true : nil }
        #expect(monagent.log.contains("torn or corrupt spool record skipped"))
        try await Task.sleep(for: .seconds(1))
        monagent.stop(SIGKILL)
        monagent = try daemon.startAgent(interval: 0.2, host: "fault-spool", agentID: agentID)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let started = WallClock.nowMs()
        _ = try await eventually("replayed and new cycles") { () -> Bool? in
            let newest = try daemon.scalar(
                "SELECT coalesce((extract(epoch FROM max(batch_ts)) * 1000)::bigint, 0) FROM ingest_ledger")
            return newest > started + 1000 ? true : nil
        }
        monagent.stop()
        try Self.expectExactlyOnce(daemon, agent: agentID, host: "fault-spool")
        let (_, batches, _) = try Self.ledger(daemon, agent: agentID)
        let stamps = try Self.cycles(daemon, host: "fault-spool")
        // At most one cycle per batch. Not exactly one: on a loaded machine a producer's report
        // can arrive after the next tick's, and the merger ships it as a batch of its own
        // (CycleBatchMerger), one without a cycle sample (the landing CI of stop 38).
        #expect(Int64(stamps.count) <= batches, "\(stamps.count) cycles in \(batches) batches")
        // Everything the last start recovered from the spool (the cycles of both earlier runs,
        // minus the torn one) was stored.
        let recovered = monagent.log.split(separator: "\n").last { $0.contains("spool recovered") }
        let count =
            recovered.flatMap { line in line.firstMatch(of: /batches=(\d+)/).map { Int($0.output.1) ?? 0 } } ?? 0
        #expect(count >= 2 && stamps.count >= count, "recovered \(count), stored \(stamps.count)")
    }

    @Test("fault 4: spool bound exceeded during a long outage: the oldest are dropped and counted exactly")
    func spoolBound() async throws {
        let daemon = try Daemon.make()
        let agentID = "fbd-1"
        // 64 KiB spool (segments of 64 KiB): a few hundred small cycles overflow it.
        let monagent = try daemon.startAgent(
            interval: 0.05, host: "fault-bound", agentID: agentID,
            extra: ["MONAGENT_SPOOL_MAX_BYTES": "65536", "MONAGENT_SPOOL_FSYNC": "false"])
        _ = try await eventually("the spool dropped batches", seconds: 120) {
            monagent.log.contains("spool bound exceeded") ? true : nil
        }
        let monquery = try daemon.start()
        defer { monquery.stop() }
        // The agent reports its drop counter; wait for a report newer than the first drops.
        let dropped = try await eventually("mon_agent_spool_dropped_total stored") { () -> Int64? in
            let value = try daemon.column(
                """
                SELECT m.value::bigint FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE s.name = 'mon_agent_spool_dropped_total' AND s.host = 'fault-bound'
                ORDER BY m.ts DESC LIMIT 1
                """
            ).first.flatMap { $0 }.flatMap { Int64($0) }
            return (value ?? 0) > 0 ? value : nil
        }
        // Exactly the dropped batches are missing from the ledger (seq 1 … max, minus the drops)
        // once the agent has caught up and reported its last drops: wait for the two to agree
        // (a count that stays off, too high or too low, fails here).
        var last = (missing: Int64(0), counted: Int64(0))
        let agreed = try? await eventually("missing batches == mon_agent_spool_dropped_total", seconds: 60) {
            () -> Bool? in
            let (_, batches, maxSeq) = try Self.ledger(daemon, agent: agentID)
            let counted =
                try daemon.column(
                    """
                    SELECT max(m.value)::bigint FROM metrics m JOIN metric_series s ON s.id = m.series_id
                    WHERE s.name = 'mon_agent_spool_dropped_total' AND s.host = 'fault-bound'
                    """
                ).first.flatMap { $0 }.flatMap { Int64($0) } ?? 0
            last = (maxSeq - batches, counted)
            return last.missing == last.counted ? true : nil
        }
        monagent.stop()
        #expect(dropped > 0 && agreed == true, "missing \(last.missing), counted \(last.counted)")
        let lowest = try daemon.scalar("SELECT min(seq) FROM ingest_ledger WHERE agent_id = $1", [agentID])
        #expect(lowest > 1, "the oldest went first")
    }
}
