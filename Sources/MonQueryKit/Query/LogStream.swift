import MonCore
import Synchronization

/// The filters of `/logs` and `/logs/stream`.
public struct LogFilter: Sendable, Equatable {
    /// At or above this level.
    public var level: LogLevel?
    public var service: String?
    public var host: String?
    public var traceID: String?
    /// Full-text query (words, "phrases", -exclusions: PostgreSQL `websearch_to_tsquery`).
    public var query: String?

    public init(
        level: LogLevel? = nil, service: String? = nil, host: String? = nil, traceID: String? = nil,
        query: String? = nil
    ) {
        self.level = level
        self.service = service
        self.host = host
        self.traceID = traceID
        self.query = query
    }

    /// The live stream's approximation of the database filter: every word of `query`
    /// (minus `-excluded` ones) appears, case-insensitively, in the event or the fields.
    public func matches(_ log: StoredLog) -> Bool {
        if let level, log.record.level < level { return false }
        if let service, log.record.service != service { return false }
        if let host, log.host != host { return false }
        if let traceID, log.record.traceID != traceID { return false }
        guard let query else { return true }
        let text = (log.record.event + " " + log.record.fields).lowercased()
        for word in query.lowercased().split(whereSeparator: { $0 == " " || $0 == "\"" }) {
            if word.hasPrefix("-") {
                if word.count > 1, text.contains(word.dropFirst()) { return false }
            } else if word != "or", !text.contains(word) {
                return false
            }
        }
        return true
    }
}

/// Fans newly stored log records out to live-stream subscribers.
///
/// Each subscriber has a bounded buffer: when a slow client lets it fill, further
/// records are dropped for that client and counted, so the daemon's memory stays bounded;
/// the client learns the count and can fetch the gap with `/logs` or `Last-Event-ID`.
public final class LogBroadcaster: Sendable {
    /// What a subscriber receives: records, and the keepalive ticks it asked for.
    public enum Item: Sendable {
        case log(StoredLog)
        case keepalive
    }

    struct Subscriber {
        var filter: LogFilter
        var continuation: AsyncStream<Item>.Continuation
        var dropped = 0
    }

    struct State {
        var nextID = 0
        var subscribers: [Int: Subscriber] = [:]
        var droppedTotal = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A new subscription; `bufferSize` records at most wait for the client.
    public func subscribe(filter: LogFilter, bufferSize: Int) -> (id: Int, stream: AsyncStream<Item>) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Item.self, bufferingPolicy: .bufferingOldest(max(1, bufferSize)))
        let id = state.withLock { state in
            state.nextID += 1
            state.subscribers[state.nextID] = Subscriber(filter: filter, continuation: continuation)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    /// Wakes subscriber `id` with a keepalive (so an idle stream notices a closed client).
    public func keepalive(_ id: Int) {
        state.withLock { state in _ = state.subscribers[id]?.continuation.yield(.keepalive) }
    }

    public func unsubscribe(_ id: Int) {
        let removed = state.withLock { $0.subscribers.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    /// Records dropped for subscriber `id` since the last call.
    public func takeDropped(_ id: Int) -> Int {
        state.withLock { state in
            let dropped = state.subscribers[id]?.dropped ?? 0
            state.subscribers[id]?.dropped = 0
            return dropped
        }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
    /// Records dropped for slow clients since start.
    public var droppedTotal: Int { state.withLock { $0.droppedTotal } }

    public func publish(_ logs: [StoredLog]) {
        state.withLock { state in
            for (id, subscriber) in state.subscribers {
                var dropped = 0
                for log in logs where subscriber.filter.matches(log) {
                    if case .dropped = subscriber.continuation.yield(.log(log)) { dropped += 1 }
                }
                if dropped > 0 {
                    state.subscribers[id]?.dropped += dropped
                    state.droppedTotal += dropped
                }
            }
        }
    }
}
