import Foundation
import Logging
import MonCore
import MonQueryKit
import Synchronization
import Testing

/// The remote-write exporter against a real database, with a receiver that only counts: a
/// backlog larger than `queue.capacity` is exported pass after pass, each telling the loop
/// that more is waiting (it used to say so only at 500 batches, so a backlog cut by the
/// capacity waited a second between passes: 4 700 samples/s with the default queue).
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct RemoteWriteBacklogTests {
    /// Answers 200 to every body and counts them.
    final class CountingReceiver: RemoteWriteTransport {
        let bodies = Atomic<Int>(0)
        func send(_ body: [UInt8]) async throws -> Int {
            bodies.add(1, ordering: .relaxed)
            return 200
        }
    }

    /// Answers 200 after `delay`, counting bodies and the requests in flight at once.
    final class SlowReceiver: RemoteWriteTransport {
        let bodies = Atomic<Int>(0)
        let inFlight = Atomic<Int>(0)
        let mostInFlight = Atomic<Int>(0)
        let delay: Duration
        init(delay: Duration) { self.delay = delay }
        func send(_ body: [UInt8]) async throws -> Int {
            let now = inFlight.add(1, ordering: .relaxed).newValue
            mostInFlight.max(now, ordering: .relaxed)
            try await Task.sleep(for: delay)
            inFlight.subtract(1, ordering: .relaxed)
            bodies.add(1, ordering: .relaxed)
            return 200
        }
    }

    /// Six batches of the same ten series, a second apart, from the ledger's start. With
    /// `overlap`, batches 3 and 5 also repeat series cpu=0's sample of the batch before, so
    /// their time range covers a sample the pass before sends.
    static func plantBacklog(_ daemon: Daemon, destination: String, overlap: Bool = false) async throws {
        let now = WallClock.nowMs()
        let writer = try await daemon.migratedWriter(nowMs: now)
        let agent = AgentIdentity(agentID: "backlog", host: "backlog-1", bootID: "b")
        for seq in 1...6 {
            let stamp = { (seq: Int) in now - 60_000 + Int64(seq) * 1_000 }
            var samples = (0..<10).map { index in
                Sample("mon_host_cpu_usage_ratio", ["cpu": "\(index)"], value: 0.5, timestampMs: stamp(seq))
            }
            if overlap, seq == 3 || seq == 5 {
                samples.append(
                    Sample("mon_host_cpu_usage_ratio", ["cpu": "0"], value: 0.5, timestampMs: stamp(seq - 1)))
            }
            let outcome = try await writer.store(
                Batch(seq: UInt64(seq), createdMs: now, samples: samples), from: agent, nowMs: now)
            #expect(outcome == .stored(samples: samples.count, rejected: 0))
        }
        // From the ledger's start (a new destination would start at its end).
        try daemon.execute("INSERT INTO remote_write_cursors (destination, tx) VALUES ('\(destination)', '0')")
        // The exporter takes only batches older than every transaction still open in the
        // cluster (a later commit could land before them). The other tests running beside this
        // one share the cluster and hold transactions for seconds: wait until they have ended.
        _ = try await eventually("the planted batches older than every open transaction", seconds: 600) {
            try daemon.column(
                "SELECT max(tx) < pg_snapshot_xmin(pg_current_snapshot()) FROM ingest_ledger"
            ) == ["t"] ? true : nil
        }
    }

    static func settings(_ destination: String, queue: String) throws -> RemoteWriteSettings {
        try #require(
            try RemoteWriteSettings.load(
                ConfigSource(
                    yaml: """
                        export:
                          remote_write:
                            - name: \(destination)
                              url: http://127.0.0.1:9/api/v1/write
                              queue: \(queue)
                        """, envPrefix: "MONQUERY", environment: [:])
            ).first)
    }

    @Test(
        "drain: each pass read while the one before is sent; every sample once, no out-of-order drop, cursor at the end"
    )
    func drainOverlapsReadAndSend() async throws {
        let daemon = try Daemon.make()
        try await Self.plantBacklog(daemon, destination: "drain", overlap: true)
        // Two batches per pass (20 + 21 weigh 41), one request per pass: three passes, each next
        // one read while that one is in flight. Passes 2 and 3 start with a batch whose range
        // covers cpu=0's last sample of the pass before: read before that pass is sent, it must
        // still be known as sent, or it goes out twice.
        let receiver = SlowReceiver(delay: .milliseconds(300))
        let exporter = RemoteWriteExporter(
            settings: try Self.settings("drain", queue: "{capacity: 42, max_samples_per_send: 20, max_shards: 1}"),
            databaseURL: daemon.databaseURL, password: nil, transport: receiver, lease: nil,
            // One drain must see all three passes however slow the machine: with the default 10 s
            // it stopped after two in ci51's parallel phase (load average ~37).
            drainSeconds: 600, logger: Logger(label: "test"))
        #expect(try await exporter.drain() == false, "caught up within one drain")
        let status = exporter.status
        // 60 distinct samples. One sent twice (the next pass not filtered against the one in
        // flight) makes 61; the repeated one taken as older than what was sent is a drop.
        #expect(status.sent == 60 && status.dropped.isEmpty, "sent \(status.sent), dropped \(status.dropped)")
        #expect(status.pendingBatches == 0)
        #expect(receiver.bodies.load(ordering: .relaxed) == 3)
        #expect(receiver.mostInFlight.load(ordering: .relaxed) == 1, "one shard: one request at a time")
        let stored = try daemon.column("SELECT tx::text FROM remote_write_cursors WHERE destination = 'drain'")
        let newest = try daemon.column("SELECT max(tx)::text FROM ingest_ledger")
        #expect(stored == newest)
        // Nothing new: the next drain sends nothing.
        #expect(try await exporter.drain() == false)
        #expect(exporter.status.sent == 60)
    }

    @Test("six batches, two per pass: the first two passes say more is waiting, the third sends the last; all sent")
    func backlogCutByCapacity() async throws {
        let daemon = try Daemon.make()
        try await Self.plantBacklog(daemon, destination: "backlog")
        // A batch weighs its samples plus its series (the ledger's measure): 20 here, so a
        // capacity of 40 takes two.
        let settings = try Self.settings("backlog", queue: "{capacity: 40, max_samples_per_send: 20, max_shards: 1}")
        let receiver = CountingReceiver()
        let exporter = RemoteWriteExporter(
            settings: settings, databaseURL: daemon.databaseURL, password: nil, transport: receiver, lease: nil,
            logger: Logger(label: "test"))
        var answers: [Bool] = []
        for _ in 0..<4 { answers.append(try await exporter.pass()) }
        // The fourth finds nothing to send.
        #expect(answers == [true, true, false, false])
        #expect(exporter.status.sent == 60)
        #expect(exporter.status.pendingBatches == 0)
        #expect(receiver.bodies.load(ordering: .relaxed) == 3)
    }
}
