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

    @Test("six batches, two per pass: the first two passes say more is waiting, the third sends the last; all sent")
    func backlogCutByCapacity() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let writer = try await daemon.migratedWriter(nowMs: now)
        let agent = AgentIdentity(agentID: "backlog", host: "backlog-1", bootID: "b")
        for seq in 1...6 {
            let samples = (0..<10).map { index in
                Sample(
                    "mon_host_cpu_usage_ratio", ["cpu": "\(index)"], value: 0.5,
                    timestampMs: now - 60_000 + Int64(seq) * 1_000
                )
            }
            let outcome = try await writer.store(
                Batch(seq: UInt64(seq), createdMs: now, samples: samples), from: agent, nowMs: now)
            #expect(outcome == .stored(samples: 10, rejected: 0))
        }
        // A batch weighs its samples plus its series (the ledger's measure): 20 here, so a
        // capacity of 40 takes two.
        // From the ledger's start (a new destination would start at its end).
        try daemon.execute("INSERT INTO remote_write_cursors (destination, tx) VALUES ('backlog', '0')")
        let settings = try #require(
            try RemoteWriteSettings.load(
                ConfigSource(
                    yaml: """
                        export:
                          remote_write:
                            - name: backlog
                              url: http://127.0.0.1:9/api/v1/write
                              queue: {capacity: 40, max_samples_per_send: 20}
                        """, envPrefix: "MONQUERY", environment: [:])
            ).first)
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
