import MonCore
import NIOCore

/// A batch as it goes on the wire: its seq and its `BatchCodec` bytes (the BATCH frame's
/// payload). The disk spool hands out the bytes it stored, so the shipper neither decodes
/// nor encodes a batch again.
public struct EncodedBatch: Sendable, Equatable {
    public var seq: UInt64
    public var payload: ByteBuffer

    public init(seq: UInt64, payload: ByteBuffer) {
        self.seq = seq
        self.payload = payload
    }

    /// `batch` encoded.
    public init(_ batch: Batch) {
        var payload = ByteBuffer()
        BatchCodec.encode(batch, into: &payload)
        self.init(seq: batch.seq, payload: payload)
    }

    /// The BATCH frame that carries it.
    public var frame: Frame { Frame(.batch, payload: payload) }
}

/// Where the agent keeps batches until the daemon acks them.
///
/// The in-memory queue below is the first implementation; the durable disk spool
/// implements the same protocol, so the shipper does not change.
public protocol BatchQueue: Actor {
    /// Adds a batch; may drop the oldest one when full (counted in `dropped`).
    func append(_ batch: Batch)
    /// Highest sequence number appended so far.
    var lastSeq: UInt64 { get }
    /// The oldest batch not yet acknowledged.
    func oldestUnacked() -> Batch?
    /// Its seq, without decoding it (the disk spool reads only a record header).
    var oldestUnackedSeq: UInt64? { get }
    /// The oldest unacked batch with a seq above `seq` (the oldest of all when nil), encoded:
    /// what the shipper sends next, with the batches up to `seq` still awaiting their ACK.
    /// Nil when there is none (or, for the disk spool, when it cannot be read yet: it is
    /// handed out once it is the oldest).
    func unacked(after seq: UInt64?) -> EncodedBatch?
    /// Forgets every batch with `seq <= seq`.
    func acknowledge(upTo seq: UInt64)
    /// Batches waiting.
    var depth: Int { get }
    /// Batches dropped because the queue was full.
    var dropped: Int { get }
    /// Fires (coalesced) whenever a batch is appended.
    nonisolated var appended: AsyncStream<Void> { get }
    /// The disk spool's counters (nil for a memory-only queue).
    var spoolStats: SpoolStats? { get }
    /// Shapes every batch before it is numbered (series keys, size per frame).
    nonisolated var shaper: BatchShaper { get }
    /// Numbers the next batch after `seq` (when it is above `lastSeq`); drops nothing.
    func skipSequence(past seq: UInt64)
}

extension BatchQueue {
    /// Appends `batch` under the next sequence number (its own `seq` is ignored), shaped by
    /// `shaper` first — possibly as several batches, each under its own number; returns the
    /// last seq (the batch is acked once that one is). Several sources (host sampler,
    /// PostgreSQL, Redis, StatsD, logs) share one queue and one sequence.
    @discardableResult
    public func enqueue(_ batch: Batch) -> UInt64 {
        var last = lastSeq
        for part in shaper.shape(batch) {
            var numbered = part
            numbered.seq = lastSeq + 1
            append(numbered)
            last = numbered.seq
        }
        return last
    }

    /// Enqueues a batch of samples and events under the next sequence number.
    @discardableResult
    public func enqueue(samples: [Sample], events: [Event], createdMs: Int64) -> UInt64 {
        enqueue(Batch(seq: 0, createdMs: createdMs, samples: samples, events: events))
    }

    /// The seq of `oldestUnacked()` (queues that can tell it cheaper implement it).
    public var oldestUnackedSeq: UInt64? { oldestUnacked()?.seq }

    /// True once batch `seq` left the queue: acked by the daemon (or dropped when the queue was full).
    public func isAcknowledged(_ seq: UInt64) -> Bool {
        guard let oldest = oldestUnackedSeq else { return true }
        return oldest > seq
    }
}

/// A bounded FIFO of batches in memory; drops the oldest when full.
public actor MemoryBatchQueue: BatchQueue {
    public let capacity: Int
    private var batches: [Batch] = []
    private var head = 0
    public private(set) var dropped = 0
    public private(set) var lastSeq: UInt64 = 0
    public nonisolated let appended: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    public nonisolated let shaper: BatchShaper

    /// `capacity` in batches (`ingest.queue_max_batches`, default 720 = 1 h at 5 s).
    public init(capacity: Int, shaper: BatchShaper = BatchShaper()) {
        self.capacity = max(1, capacity)
        self.shaper = shaper
        (appended, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var depth: Int { batches.count - head }

    public func append(_ batch: Batch) {
        lastSeq = max(lastSeq, batch.seq)
        if depth >= capacity {
            head += 1
            dropped += 1
        }
        batches.append(batch)
        compact()
        signal.yield()
    }

    public func oldestUnacked() -> Batch? { head < batches.count ? batches[head] : nil }

    public func unacked(after seq: UInt64?) -> EncodedBatch? {
        guard let seq else { return oldestUnacked().map(EncodedBatch.init) }
        return batches[head...].first { $0.seq > seq }.map(EncodedBatch.init)
    }

    public var spoolStats: SpoolStats? { nil }

    public func skipSequence(past seq: UInt64) { lastSeq = max(lastSeq, seq) }

    public func acknowledge(upTo seq: UInt64) {
        while head < batches.count, batches[head].seq <= seq { head += 1 }
        compact()
    }

    private func compact() {
        if head > 64, head * 2 > batches.count {
            batches.removeFirst(head)
            head = 0
        }
    }
}
