import Foundation
import Logging
import Synchronization
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The spool beyond crash recovery (issue 18): its memory does not grow with its size on
/// disk (batches are read back lazily, at most `memory_max_bytes` held in RAM), and its
/// directory is fsynced whenever a segment is created or deleted.
@Suite struct SpoolDurabilityTests {
    static let logger = Logger(label: "spool-durability-test")

    /// Counts directory fsyncs and answers `result` (0 = success) to each.
    final class SyncRecorder: Sendable {
        let calls = Atomic<Int>(0)
        let result: Int32

        init(result: Int32 = 0) { self.result = result }

        var sync: @Sendable (Int32) -> Int32 {
            { [self] descriptor in
                calls.add(1, ordering: .relaxed)
                return result == 0 ? fsync(descriptor) : result
            }
        }

        var count: Int { calls.load(ordering: .relaxed) }
    }

    static func segmentFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
    }

    @Test("a spool 100 times larger than memory_max_bytes is recovered and replayed in order, never held in RAM")
    func largeSpoolBoundedMemory() async throws {
        let directory = try SpoolTests.directory()
        let bound = 256 << 10
        let config = SpoolConfig(directory: directory, maxBytes: 1 << 30, fsync: false, memoryMaxBytes: bound)
        let count = 2000
        do {
            let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
            for value in 1...count {
                await spool.enqueue(SpoolTests.batch(Double(value), padding: 16_000))
                #expect(try #require(await spool.spoolStats).memoryBytes <= bound)
            }
            #expect(try #require(await spool.spoolStats).bytes > 100 * bound)
        }
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        let recovered = try #require(await spool.spoolStats)
        #expect(recovered.recovered == count)
        #expect(recovered.memoryBytes == 0, "recovery checks records without keeping them")
        #expect(await spool.depth == count)
        var expected = 1
        while let batch = await spool.oldestUnacked() {
            #expect(batch.seq == UInt64(expected))
            #expect(batch.samples.first?.value == Double(expected))
            await spool.acknowledge(upTo: batch.seq)
            #expect(try #require(await spool.spoolStats).memoryBytes <= bound)
            expected += 1
        }
        #expect(expected == count + 1)
        #expect(await spool.depth == 0)
        #expect(try Self.segmentFiles(directory).isEmpty)
    }

    @Test("new batches are served from RAM while older ones come from disk; depth and order hold across both")
    func cacheAndDisk() async throws {
        let directory = try SpoolTests.directory()
        let config = SpoolConfig(directory: directory, maxBytes: 1 << 30, fsync: false, memoryMaxBytes: 64 << 10)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        for value in 1...40 { await spool.enqueue(SpoolTests.batch(Double(value), padding: 4000)) }
        #expect(try #require(await spool.spoolStats).memoryBytes <= 64 << 10)
        #expect(await spool.oldestUnackedSeq == 1)
        #expect(await spool.isAcknowledged(0))
        #expect(!(await spool.isAcknowledged(1)))
        await spool.acknowledge(upTo: 25)
        #expect(await spool.depth == 15)
        #expect(await spool.oldestUnacked()?.seq == 26)
        await spool.acknowledge(upTo: 40)
        #expect(await spool.depth == 0)
        #expect(try #require(await spool.spoolStats).memoryBytes == 0)
        #expect(await spool.oldestUnacked() == nil)
    }

    @Test("fsync_delay_ms 0: the directory is fsynced at start, after a segment is created and after one is deleted")
    func directoryFsync() async throws {
        let directory = try SpoolTests.directory()
        let recorder = SyncRecorder()
        let config = SpoolConfig(directory: directory, maxBytes: 1 << 20, fsyncDelayMs: 0)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger, syncDirectory: recorder.sync)
        #expect(recorder.count == 1, "at start: the lock file and what recovery changed")
        await spool.enqueue(SpoolTests.batch(1, padding: 4000))
        #expect(recorder.count == 2, "the first segment was created")
        await spool.enqueue(SpoolTests.batch(2, padding: 4000))
        #expect(recorder.count == 2, "a record appended to an existing segment needs no directory fsync")
        var value = 3.0
        while try Self.segmentFiles(directory).count < 2 {
            await spool.enqueue(SpoolTests.batch(value, padding: 4000))
            value += 1
        }
        #expect(recorder.count == 3, "the second segment was created")
        await spool.acknowledge(upTo: await spool.lastSeq)
        #expect(try Self.segmentFiles(directory).isEmpty)
        #expect(recorder.count == 5, "each deleted segment")
        #expect(try #require(await spool.spoolStats).writeErrors == 0)

        let unsynced = SyncRecorder()
        let other = try SpoolBatchQueue(
            config: SpoolConfig(directory: try SpoolTests.directory(), fsync: false), logger: Self.logger,
            syncDirectory: unsynced.sync)
        await other.enqueue(SpoolTests.batch(1))
        await other.acknowledge(upTo: 1)
        #expect(unsynced.count == 0, "spool.fsync: false syncs nothing")
    }

    @Test("a failing directory fsync is counted as a write error; the batch stays spooled")
    func directoryFsyncFails() async throws {
        let directory = try SpoolTests.directory()
        let failing = SyncRecorder(result: -1)
        do {
            let spool = try SpoolBatchQueue(
                config: SpoolConfig(directory: directory, fsyncDelayMs: 0), logger: Self.logger,
                syncDirectory: failing.sync)
            await spool.enqueue(SpoolTests.batch(1))
            #expect(try #require(await spool.spoolStats).writeErrors == 1)
            #expect(await spool.depth == 1)
        }
        let reopened = try SpoolBatchQueue(config: SpoolConfig(directory: directory), logger: Self.logger)
        #expect(await reopened.oldestUnacked()?.samples.first?.value == 1)
    }

    @Test("a FIFO or a symlink named like a segment does not block or mislead recovery")
    func specialFilesInTheSpool() async throws {
        let directory = try SpoolTests.directory()
        do {
            let spool = try SpoolBatchQueue(config: SpoolConfig(directory: directory), logger: Self.logger)
            await spool.enqueue(SpoolTests.batch(1))
        }
        let boot = try #require(try Self.segmentFiles(directory).first).split(separator: "-").dropLast().joined(
            separator: "-")
        #expect(mkfifo("\(directory)/\(boot)-00000000000000000007.seg", 0o600) == 0)
        let target = NSTemporaryDirectory() + "spool-link-target-\(UUID().uuidString)"
        try Data(repeating: 0x41, count: 64).write(to: URL(fileURLWithPath: target))
        #expect(symlink(target, "\(directory)/\(boot)-00000000000000000009.seg") == 0)
        let spool = try SpoolBatchQueue(config: SpoolConfig(directory: directory), logger: Self.logger)
        #expect(await spool.depth == 1)
        #expect(await spool.oldestUnacked()?.samples.first?.value == 1)
        #expect(FileManager.default.fileExists(atPath: target), "a link's target is never touched")
    }

    @Test("a record corrupted on disk after it was written is skipped when read back, with the rest of its segment")
    func corruptedAfterWrite() async throws {
        let directory = try SpoolTests.directory()
        // A cache of 16 KiB holds no 20 KB batch: every batch is read back from disk.
        let config = SpoolConfig(directory: directory, maxBytes: 1 << 20, fsync: false, memoryMaxBytes: 16 << 10)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        for value in 1...4 { await spool.enqueue(SpoolTests.batch(Double(value), padding: 20_000)) }
        #expect(try #require(await spool.spoolStats).memoryBytes == 0)
        let file = directory + "/" + (try #require(try Self.segmentFiles(directory).first))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 4 + 100)  // inside the second record's payload
        try handle.write(contentsOf: Data([0xFF, 0xFF, 0xFF, 0xFF]))
        try handle.close()
        #expect(await spool.oldestUnacked()?.seq == 1)
        await spool.acknowledge(upTo: 1)
        #expect(await spool.oldestUnacked() == nil, "records 2–4 share the corrupt record's segment")
        #expect(try #require(await spool.spoolStats).tornRecords == 3)
        #expect(await spool.depth == 0)
        await spool.enqueue(SpoolTests.batch(5))
        #expect(await spool.oldestUnacked()?.seq == 5, "new batches flow")
    }
}
