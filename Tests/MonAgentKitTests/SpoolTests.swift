import Foundation
import Logging
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The agent's durable spool: records survive a restart in order under the same identity,
/// torn records are cut off, bounds drop the oldest and count exactly, write failures keep
/// batches in memory.
@Suite struct SpoolTests {
    static let logger = Logger(label: "spool-test")

    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "spool-test-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// One sample; `padding` bytes more in an event (a label that long would be cut: `SeriesKeyGuard`).
    static func batch(_ value: Double, padding: Int = 0, createdMs: Int64 = WallClock.nowMs()) -> Batch {
        Batch(
            seq: 0, createdMs: createdMs,
            samples: [Sample("m", value: value, timestampMs: createdMs)],
            events: padding == 0
                ? []
                : [
                    Event(
                        kind: "pad", key: "k", timestampMs: createdMs, payload: String(repeating: "x", count: padding))
                ])
    }

    static func segmentFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
    }

    @Test("batches survive a restart in order, under the same boot id; the sequence continues")
    func recoversAfterRestart() async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory)
        let bootID: String
        do {
            let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
            for value in 1...5 { await spool.enqueue(Self.batch(Double(value))) }
            await spool.acknowledge(upTo: 2)
            bootID = spool.bootID
        }
        let reopened = try SpoolBatchQueue(config: config, logger: Self.logger)
        #expect(reopened.bootID == bootID)
        // Acked batches still in a live segment are replayed too (the daemon's ledger skips them).
        #expect(await reopened.depth == 5)
        #expect(await reopened.oldestUnacked()?.samples.first?.value == 1)
        #expect(await reopened.enqueue(Self.batch(6)) == 6)
        #expect(await reopened.spoolStats?.recovered == 5)
        await reopened.acknowledge(upTo: 6)
        #expect(await reopened.depth == 0)
        #expect(try Self.segmentFiles(directory).isEmpty, "fully acked segments are deleted")
    }

    @Test("an empty spool starts a new boot id at seq 1; a second agent on the same directory is refused")
    func freshStartAndLock() async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory)
        let first = try SpoolBatchQueue(config: config, logger: Self.logger)
        #expect(throws: ConfigError.self) { try SpoolBatchQueue(config: config, logger: Self.logger) }
        #expect(await first.enqueue(Self.batch(1)) == 1)
        await first.acknowledge(upTo: 1)
        let firstBoot = first.bootID
        _ = consume first
        let second = try SpoolBatchQueue(config: config, logger: Self.logger)
        #expect(second.bootID != firstBoot)
        #expect(await second.enqueue(Self.batch(1)) == 1)
    }

    @Test("a torn last record (power loss) is skipped and cut off; the rest is recovered")
    func tornRecord() async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory)
        do {
            let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
            for value in 1...3 { await spool.enqueue(Self.batch(Double(value))) }
        }
        let file = directory + "/" + (try #require(try Self.segmentFiles(directory).first))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(truncate(file, off_t(size - 5)) == 0)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        #expect(await spool.depth == 2)
        #expect(await spool.spoolStats?.tornRecords == 1)
        #expect(await spool.oldestUnacked()?.seq == 1)
        #expect(await spool.enqueue(Self.batch(4)) == 3, "the torn batch's seq is reused: it was never acked")
        let cut = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(cut < size - 5 + 1)
    }

    @Test("a corrupt byte in the middle fails the checksum: that segment is cut there")
    func corruptRecord() async throws {
        let directory = try Self.directory()
        do {
            let spool = try SpoolBatchQueue(config: SpoolConfig(directory: directory), logger: Self.logger)
            for value in 1...4 { await spool.enqueue(Self.batch(Double(value))) }
        }
        let file = directory + "/" + (try #require(try Self.segmentFiles(directory).first))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let spool = try SpoolBatchQueue(config: SpoolConfig(directory: directory), logger: Self.logger)
        #expect(await spool.depth == 2)
        #expect(await spool.spoolStats?.tornRecords == 1)
    }

    @Test("past the size bound the oldest segments are dropped and every dropped batch is counted")
    func sizeBound() async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory, maxBytes: 64 << 10, fsync: false)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        for value in 1...100 { await spool.enqueue(Self.batch(Double(value), padding: 4000)) }
        let depth = await spool.depth
        let stats = try #require(await spool.spoolStats)
        #expect(stats.dropped > 0)
        #expect(stats.dropped + depth == 100, "dropped \(stats.dropped) + kept \(depth)")
        #expect(stats.bytes <= (64 << 10) + 8192)
        #expect(await spool.oldestUnacked()?.seq == UInt64(stats.dropped + 1), "the oldest went first")
        // What is left replays after a restart.
        _ = consume spool
        let reopened = try SpoolBatchQueue(config: config, logger: Self.logger)
        #expect(await reopened.depth == depth)
    }

    @Test(
        "a batch on the wire when its segment is dropped counts as dropped only if the daemon did not store it",
        arguments: [true, false])
    func droppedWhileInFlight(stored: Bool) async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory, maxBytes: 64 << 10, fsync: false)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        await spool.enqueue(Self.batch(1, padding: 4000))
        let onTheWire = try #require(await spool.oldestUnacked())
        for value in 2...100 { await spool.enqueue(Self.batch(Double(value), padding: 4000)) }
        let depth = await spool.depth
        let before = try #require(await spool.spoolStats).dropped
        // Every batch that left the queue is counted, except the one on the wire.
        #expect(before + depth == 99, "dropped \(before) + kept \(depth)")
        await spool.acknowledge(upTo: stored ? onTheWire.seq : onTheWire.seq - 1)
        let after = try #require(await spool.spoolStats).dropped
        #expect(after == (stored ? before : before + 1))
    }

    /// The batches after the ones in flight, as the shipper asks for them with two on the wire:
    /// from the RAM cache (memory bound large) or read back across segments (bound 0), the
    /// bytes exactly as `BatchCodec` encodes them; the cursor stays at the oldest unacked.
    @Test("unacked(after:) hands out the next batch past those in flight, encoded", arguments: [8 << 20, 0])
    func unackedAfter(memoryMaxBytes: Int) async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(
            directory: directory, maxBytes: 512 << 10, fsync: false, memoryMaxBytes: memoryMaxBytes)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        for value in 1...40 { await spool.enqueue(Self.batch(Double(value), padding: 4000)) }
        #expect(try Self.segmentFiles(directory).count > 1, "records in several segments")
        let first = try #require(await spool.unacked(after: nil))
        #expect(first.seq == 1)
        var decoded = first.payload
        #expect(try BatchCodec.decode(&decoded).samples.first?.value == 1)
        var sent: [UInt64] = [first.seq]
        while let next = await spool.unacked(after: sent.last) { sent.append(next.seq) }
        #expect(sent == Array(1...40))
        #expect(await spool.oldestUnackedSeq == 1, "looking ahead does not consume")
        await spool.acknowledge(upTo: 20)
        #expect(await spool.unacked(after: 20)?.seq == 21)
        #expect(await spool.unacked(after: 21)?.seq == 22)
        #expect(await spool.unacked(after: 39)?.seq == 40)
        #expect(await spool.unacked(after: 40) == nil)
        #expect(await spool.unacked(after: nil)?.seq == 21)
        let oldest = try #require(await spool.oldestUnacked())
        #expect(await spool.unacked(after: 20)?.payload == EncodedBatch(oldest).payload, "the bytes BatchCodec encodes")
    }

    @Test(
        "two batches on the wire when their segment is dropped: an ACK of the first leaves the second to its own",
        arguments: [true, false])
    func twoDroppedWhileInFlight(secondStored: Bool) async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory, maxBytes: 64 << 10, fsync: false)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        await spool.enqueue(Self.batch(1, padding: 4000))
        await spool.enqueue(Self.batch(2, padding: 4000))
        #expect(await spool.unacked(after: nil)?.seq == 1)
        #expect(await spool.unacked(after: 1)?.seq == 2)
        for value in 3...100 { await spool.enqueue(Self.batch(Double(value), padding: 4000)) }
        let depth = await spool.depth
        let before = try #require(await spool.spoolStats).dropped
        // Every batch that left the queue is counted, except the two on the wire.
        #expect(before + depth == 98, "dropped \(before) + kept \(depth)")
        await spool.acknowledge(upTo: 1)
        #expect(try #require(await spool.spoolStats).dropped == before, "batch 2 may still be stored")
        // The next acknowledgement: the ACK of 2, or a WELCOME after a reconnect that says 1.
        await spool.acknowledge(upTo: secondStored ? 2 : 1)
        #expect(try #require(await spool.spoolStats).dropped == (secondStored ? before : before + 1))
    }

    @Test("past the age bound the old segments are dropped and counted")
    func ageBound() async throws {
        let directory = try Self.directory()
        let config = SpoolConfig(directory: directory, maxBytes: 64 << 10, maxAgeSeconds: 3600, fsync: false)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        let old = WallClock.nowMs() - 2 * 3_600_000
        for value in 1...20 { await spool.enqueue(Self.batch(Double(value), padding: 4000, createdMs: old)) }
        for value in 21...22 { await spool.enqueue(Self.batch(Double(value), padding: 4000)) }
        let stats = try #require(await spool.spoolStats)
        #expect(stats.dropped >= 1)
        #expect(stats.dropped + (await spool.depth) == 22)
    }

    @Test("when the spool cannot be written (directory gone), batches stay in memory and failures are counted")
    func writeFailureKeepsMemory() async throws {
        let directory = try Self.directory()
        // 1 MiB bound: segments of 128 KiB, so the writes move to a new file (and fail) after ~30.
        let config = SpoolConfig(directory: directory, maxBytes: 1 << 20, fsync: false)
        let spool = try SpoolBatchQueue(config: config, logger: Self.logger)
        await spool.enqueue(Self.batch(1))
        try FileManager.default.removeItem(atPath: directory)
        for value in 2...40 { await spool.enqueue(Self.batch(Double(value), padding: 4000)) }
        let stats = try #require(await spool.spoolStats)
        #expect(stats.writeErrors > 0)
        #expect(await spool.depth == 40, "nothing lost while memory holds it")
        #expect(await spool.oldestUnacked()?.seq == 1)
        await spool.acknowledge(upTo: 40)
        #expect(await spool.depth == 0)
    }
}
