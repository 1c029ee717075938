import Foundation
import Logging
import Testing

@testable import MonAgentKit
@testable import MonCore

/// `spool.fsync_delay_ms` (issue 22): a batch the daemon acknowledges within the delay is
/// never fsynced (it is committed in PostgreSQL); one it does not is, with its segment's
/// directory entry; a segment left while it holds unsynced batches, and a spool closed with
/// them, sync first.
@Suite struct SpoolDeferredSyncTests {
    typealias Recorder = SpoolDurabilityTests.SyncRecorder
    static let logger = Logger(label: "spool-deferred-sync-test")

    /// Waits (at most 10 s) until `condition` holds; the outcome is checked by the caller.
    static func wait(_ condition: () -> Bool) async throws {
        for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    static func spool(_ directory: String, delayMs: Int, maxBytes: Int = 64 << 20) throws -> (
        SpoolBatchQueue, directory: Recorder, data: Recorder
    ) {
        let directorySyncs = Recorder()
        let dataSyncs = Recorder()
        let spool = try SpoolBatchQueue(
            config: SpoolConfig(directory: directory, maxBytes: maxBytes, fsyncDelayMs: delayMs), logger: logger,
            syncDirectory: directorySyncs.sync, syncData: dataSyncs.sync)
        return (spool, directorySyncs, dataSyncs)
    }

    @Test("a batch acknowledged within the delay is written, deleted and never fsynced")
    func acknowledgedInTime() async throws {
        let directory = try SpoolTests.directory()
        let (spool, directorySyncs, dataSyncs) = try Self.spool(directory, delayMs: 50)
        #expect(directorySyncs.count == 1, "at start")
        await spool.enqueue(SpoolTests.batch(1))
        #expect(try SpoolDurabilityTests.segmentFiles(directory).count == 1, "written at once")
        await spool.acknowledge(upTo: 1)
        #expect(try SpoolDurabilityTests.segmentFiles(directory).isEmpty)
        // Past the delay (the timer has fired and found nothing to sync).
        try await Task.sleep(for: .milliseconds(300))
        await spool.enqueue(SpoolTests.batch(2))
        await spool.acknowledge(upTo: 2)
        try await Task.sleep(for: .milliseconds(300))
        #expect(dataSyncs.count == 0)
        #expect(directorySyncs.count == 1, "neither the new segments' names nor their deletion")
        #expect(try #require(await spool.spoolStats).dataSyncs == 0)
    }

    @Test("a batch not acknowledged within the delay is fsynced with its segment's name; its deletion is synced")
    func unacknowledgedIsSynced() async throws {
        let directory = try SpoolTests.directory()
        let (spool, directorySyncs, dataSyncs) = try Self.spool(directory, delayMs: 50)
        await spool.enqueue(SpoolTests.batch(1))
        // The directory entry is synced right after the data, on the spool's executor: wait
        // for both (polling between the two saw 1 directory sync once, in a busy unit phase).
        try await Self.wait { dataSyncs.count >= 1 && directorySyncs.count >= 2 }
        #expect(dataSyncs.count == 1)
        #expect(directorySyncs.count == 2, "at start, then the segment's name with its first sync")
        await spool.enqueue(SpoolTests.batch(2))
        try await Self.wait { dataSyncs.count >= 2 }
        #expect(dataSyncs.count == 2)
        #expect(directorySyncs.count == 2, "the name is durable already")
        await spool.acknowledge(upTo: 2)
        #expect(try SpoolDurabilityTests.segmentFiles(directory).isEmpty)
        #expect(directorySyncs.count == 3, "a durable segment's deletion is synced")
        #expect(try #require(await spool.spoolStats).dataSyncs == 2)
        #expect(try #require(await spool.spoolStats).writeErrors == 0)
    }

    @Test("batches written while a sync is pending share it")
    func oneSyncForSeveral() async throws {
        let directory = try SpoolTests.directory()
        let (spool, _, dataSyncs) = try Self.spool(directory, delayMs: 200)
        for value in 1...5 { await spool.enqueue(SpoolTests.batch(Double(value))) }
        try await Self.wait { dataSyncs.count >= 1 }
        try await Task.sleep(for: .milliseconds(400))
        #expect(dataSyncs.count == 1)
        #expect(await spool.depth == 5)
    }

    @Test("a segment left for a new one while it holds unsynced batches is fsynced first")
    func rolledSegmentIsSynced() async throws {
        let directory = try SpoolTests.directory()
        // 64 KiB segments; a delay no test waits for.
        let (spool, _, dataSyncs) = try Self.spool(directory, delayMs: 60_000, maxBytes: 512 << 10)
        var value = 1.0
        while try SpoolDurabilityTests.segmentFiles(directory).count < 2 {
            await spool.enqueue(SpoolTests.batch(value, padding: 4000))
            value += 1
        }
        #expect(dataSyncs.count == 1, "the full segment, when the second was opened")
    }

    @Test("a spool closed with unsynced batches syncs them; the next start replays them")
    func closeSyncs() async throws {
        let directory = try SpoolTests.directory()
        let dataSyncs = Recorder()
        do {
            let spool = try SpoolBatchQueue(
                config: SpoolConfig(directory: directory, fsyncDelayMs: 60_000), logger: Self.logger,
                syncData: dataSyncs.sync)
            await spool.enqueue(SpoolTests.batch(7))
            #expect(dataSyncs.count == 0)
        }
        try await Self.wait { dataSyncs.count >= 1 }
        #expect(dataSyncs.count == 1)
        let reopened = try SpoolBatchQueue(config: SpoolConfig(directory: directory), logger: Self.logger)
        #expect(await reopened.oldestUnacked()?.samples.first?.value == 7)
    }

    @Test("a failing deferred fsync is counted and tried again; the batch stays spooled")
    func failingSyncRetried() async throws {
        let directory = try SpoolTests.directory()
        let failing = Recorder(result: -1)
        let spool = try SpoolBatchQueue(
            config: SpoolConfig(directory: directory, fsyncDelayMs: 20), logger: Self.logger, syncData: failing.sync)
        await spool.enqueue(SpoolTests.batch(1))
        try await Self.wait { failing.count >= 2 }
        #expect(failing.count >= 2)
        #expect(try #require(await spool.spoolStats).writeErrors >= 2)
        #expect(await spool.depth == 1)
        await spool.acknowledge(upTo: 1)
        let settled = failing.count
        try await Task.sleep(for: .milliseconds(200))
        #expect(failing.count <= settled + 1, "acknowledged: no more attempts after the pending one")
    }

    @Test("spool.fsync_delay_ms is read from the configuration and bounded")
    func configured() throws {
        func config(_ yaml: String) throws -> AgentConfig {
            try AgentConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: [:]))
        }
        #expect(try config("spool:\n  fsync_delay_ms: 250\n").spool?.fsyncDelayMs == 250)
        #expect(try config("").spool?.fsyncDelayMs == 1000)
        #expect(throws: ConfigError.self) { try config("spool:\n  fsync_delay_ms: -1\n") }
        #expect(throws: ConfigError.self) { try config("spool:\n  fsync_delay_ms: soon\n") }
    }
}
