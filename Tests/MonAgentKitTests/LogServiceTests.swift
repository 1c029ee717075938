import Foundation
import Logging
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct LogServiceTests {
    static func record(_ event: String) -> LogRecord {
        LogRecord(timestampMs: 1, level: .info, service: "s", event: event, source: "a.log@1:2", offset: 0)
    }

    static func position(_ offset: Int64) -> [LogTailer.Position] {
        [LogTailer.Position(path: "/a.log", device: 1, inode: 2, offset: offset, fingerprint: nil)]
    }

    // MARK: Batches

    @Test func recordsAreCutIntoBatchesOfAtMostMaxRecordsWithTheirSize() {
        let records = (0..<5).map { Self.record(String(repeating: "x", count: 100 + $0)) }
        let batches = LogService.cut(records, maxRecords: 2)
        #expect(batches.map(\.range) == [0..<2, 2..<4, 4..<5])
        for batch in batches {
            #expect(batch.bytes == records[batch.range].reduce(0) { $0 + BatchCodec.encodedSize(of: $1) })
        }
        #expect(LogService.cut(records, maxRecords: 2000).map(\.range) == [0..<5])
        #expect(LogService.cut([], maxRecords: 2000).isEmpty)
    }

    // MARK: Back-pressure

    @Test func backlogIsFullAtItsLimitAndEmptiesAsBatchesAreAcked() {
        var backlog = LogBacklog(maxBytes: 300)
        backlog.queued(seq: 5, bytes: 100, positions: nil)
        backlog.queued(seq: 6, bytes: 100, positions: Self.position(10))
        #expect(!backlog.isFull)
        backlog.queued(seq: 9, bytes: 100, positions: Self.position(20))
        #expect(backlog.isFull)
        // Nothing acked yet: the oldest unacked is the first batch.
        #expect(backlog.acknowledge(oldestUnacked: 5) == nil)
        #expect(backlog.isFull)
        // 5 and 6 acked (another source's batch 7 is the oldest now): 6's positions.
        #expect(backlog.acknowledge(oldestUnacked: 7) == Self.position(10))
        #expect(!backlog.isFull)
        #expect(backlog.bytes == 100)
        #expect(backlog.entries.map(\.seq) == [9])
        // The queue is empty: everything is acked.
        #expect(backlog.acknowledge(oldestUnacked: nil) == Self.position(20))
        #expect(backlog.isEmpty)
        #expect(backlog.bytes == 0)
    }

    @Test func backlogLimitFollowsTheSpool() {
        #expect(LogService.backlogLimit(spoolMaxBytes: nil) == 4 << 20)
        #expect(LogService.backlogLimit(spoolMaxBytes: 64 << 20) == 16 << 20)
        #expect(LogService.backlogLimit(spoolMaxBytes: 1 << 30) == 32 << 20)
        #expect(LogService.backlogLimit(spoolMaxBytes: 64 << 10) == 16 << 10)
    }

    // MARK: Positions checkpoint

    @Test func positionsAreWrittenAtMostOncePerIntervalAndAtOnceWhenForced() {
        var checkpoint = PositionsCheckpoint(intervalMs: 1000)
        // The first change after a quiet spell: at once.
        #expect(checkpoint.due(Self.position(10), nowMs: 5000, force: false) == Self.position(10))
        // Unchanged: never again.
        #expect(checkpoint.due(Self.position(10), nowMs: 9000, force: false) == nil)
        // Lines keep coming: changes within the interval wait; the newest is written once it passed.
        #expect(checkpoint.due(Self.position(20), nowMs: 9100, force: false) == Self.position(20))
        #expect(checkpoint.due(Self.position(30), nowMs: 9200, force: false) == nil)
        #expect(checkpoint.due(Self.position(40), nowMs: 9600, force: false) == nil)
        #expect(checkpoint.due(nil, nowMs: 10_000, force: false) == nil)
        #expect(checkpoint.pending == Self.position(40))
        #expect(checkpoint.due(nil, nowMs: 10_100, force: false) == Self.position(40))
        #expect(checkpoint.pending == nil)
        // Stopping: what is pending is written at once.
        #expect(checkpoint.due(Self.position(50), nowMs: 10_200, force: true) == Self.position(50))
        #expect(checkpoint.due(nil, nowMs: 10_300, force: true) == nil, "nothing new: nothing to write")
        // A clock that went back does not hold the write up.
        #expect(checkpoint.due(Self.position(60), nowMs: 1000, force: false) == Self.position(60))
        #expect(checkpoint.saved == Self.position(60))
    }

    @Test func anAckedBatchWithoutPositionsKeepsTheNewestEarlierOnes() {
        var backlog = LogBacklog(maxBytes: 1000)
        backlog.queued(seq: 1, bytes: 10, positions: Self.position(1))
        backlog.queued(seq: 2, bytes: 10, positions: nil)
        #expect(backlog.acknowledge(oldestUnacked: 3) == Self.position(1))
        #expect(backlog.isEmpty)
    }
}

/// The service against a queue nobody acks: it stops reading at its limit, and goes on once
/// batches are acked, without losing or repeating a line.
@Suite struct LogServiceBackPressureTests {
    /// Log records in the queue, oldest first; acks them.
    static func drain(_ queue: MemoryBatchQueue) async -> [LogRecord] {
        var records: [LogRecord] = []
        while let batch = await queue.oldestUnacked() {
            records += batch.logs
            await queue.acknowledge(upTo: batch.seq)
        }
        return records
    }

    /// Waits until the queue's last seq has not moved for a while (the service is paused or done).
    static func settle(_ queue: MemoryBatchQueue) async throws {
        var last: UInt64 = .max
        var quiet = 0
        while quiet < 10 {
            try await Task.sleep(for: .milliseconds(30))
            let seq = await queue.lastSeq
            quiet = seq == last ? quiet + 1 : 0
            last = seq
        }
    }

    @Test func readingPausesWhileTheBacklogIsFullAndResumesOnAck() async throws {
        let directory = NSTemporaryDirectory() + "logservice-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/app.log"
        let lines = (0..<3000).map { #"{"event":"line \#($0)","level":"info","n":\#($0)}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        var config = LogsConfig()
        config.paths = [path]
        config.startAt = .beginning
        config.pollIntervalMs = 10
        let queue = MemoryBatchQueue(capacity: 10_000)
        let limit = 20_000
        let service = LogService(
            config: config, stateDir: directory, queue: queue, aggregator: AppAggregator(config: StatsDConfig()),
            logger: Logger(label: "test"), maxUnackedBytes: limit, readBytesPerPoll: 4096)
        let task = Task { try await service.run() }
        defer { task.cancel() }

        try await Self.settle(queue)
        var read = await Self.drain(queue)
        // Paused at the limit: at most one read's records past it, far from the whole file.
        let firstBytes = read.reduce(0) { $0 + BatchCodec.encodedSize(of: $1) }
        #expect(firstBytes >= limit)
        #expect(firstBytes < 2 * limit)
        #expect(read.count < lines.count)
        // Acked: it reads on, pausing and resuming, until the file is done.
        while read.count < lines.count {
            try await Self.settle(queue)
            let more = await Self.drain(queue)
            if more.isEmpty { break }
            read += more
        }
        #expect(read.map(\.event) == lines.indices.map { "line \($0)" })
    }
}
