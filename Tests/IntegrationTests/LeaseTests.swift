import Foundation
import Logging
import MonCore
import MonQueryKit
import Testing

/// `Lease` against a live PostgreSQL: one holder per job among several instances, the holder
/// named, a takeover once the holder's session is gone (terminated by the server), and two
/// daemons migrating and creating partitions of one empty database at once.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test"))
struct LeaseTests {
    let logger = Logger(label: "lease-test")

    @Test("one holder among three instances; the next takes over when the holder's session is terminated")
    func oneHolderAndTakeover() async throws {
        let daemon = try Daemon.make()
        let a = Lease(databaseURL: daemon.databaseURL, instance: "inst-a", logger: logger)
        let b = Lease(databaseURL: daemon.databaseURL, instance: "inst-b", logger: logger)
        let c = Lease(databaseURL: daemon.databaseURL, instance: "inst-c", logger: logger)

        #expect(await a.claim(.rollups) == .acquired)
        #expect(await a.claim(.rollups) == .kept)
        #expect(await a.claim(.partitions) == .acquired)
        #expect(await b.claim(.rollups) == .elsewhere(holder: "inst-a"))
        #expect(await c.claim(.rollups) == .elsewhere(holder: "inst-a"))
        // Jobs are independent: another instance may hold another job.
        #expect(await b.claim(.alerts) == .acquired)
        #expect(await a.claim(.alerts) == .elsewhere(holder: "inst-b"))
        #expect(a.snapshot[.rollups]?.held == true)
        #expect(b.snapshot[.rollups]?.holder == "inst-a")

        // The server ends a's session (as when its process is killed, or a DBA terminates it).
        #expect(
            try daemon.scalar(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                ["monquery-lease:inst-a"]) == 1)
        _ = try await eventually("the terminated session gone") { () -> Bool? in
            try daemon.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", ["monquery-lease:inst-a"]) == 0
                ? true : nil
        }
        // a learns at its next claim that it lost the lock: it must not act on that claim.
        let lost = await a.claim(.rollups)
        #expect(!lost.mayRun, "\(lost)")
        #expect(a.snapshot[.rollups]?.held == false)
        // The other lock of that session went with it, though its job has not claimed since.
        #expect(a.snapshot[.partitions]?.held == false)
        #expect(await c.claim(.partitions) == .acquired)
        // Exactly one of the others takes it over; the third sees that one.
        let bClaim = await b.claim(.rollups)
        let cClaim = await c.claim(.rollups)
        #expect(bClaim == .acquired)
        #expect(cClaim == .elsewhere(holder: "inst-b"))
        // a reconnects and competes like any other instance: the lock is b's now.
        #expect(await a.claim(.rollups) == .elsewhere(holder: "inst-b"))
        #expect(await b.claim(.rollups) == .kept)
    }

    @Test("two daemons migrating and creating partitions of one empty database at once both succeed")
    func concurrentMigrations() async throws {
        let daemon = try Daemon.make()
        let nowMs = WallClock.nowMs()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
                    try await writer.migrate()
                    try await writer.maintainPartitions(aheadDays: 3, nowMs: nowMs)
                }
            }
            try await group.waitForAll()
        }
        #expect(try daemon.scalar("SELECT count(*) FROM schema_migrations") > 0)
    }
}
