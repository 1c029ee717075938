import Synchronization

/// Results kept for a short time (about a second), one computation per key at a time:
/// callers arriving while a value is being computed wait for that computation instead of
/// starting their own. For API figures that many callers ask for at once and that cannot
/// change faster than the agents sample (every 5 s by default), so that concurrent
/// dashboards do not queue the same queries on the API's single database connection.
///
/// A value is at most `ttlMs` older than the request that reads it, counted from when its
/// computation started. A computation that fails is forgotten at once (the next caller
/// retries). Expired entries are dropped whenever a new computation starts, so the cache
/// holds only the keys of the last `ttlMs`.
public final class ShortLivedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Entry {
        var startedMs: Int64
        var task: Task<Value, any Error>
    }

    public let ttlMs: Int64
    private let entries = Mutex<[Key: Entry]>([:])

    public init(ttlMs: Int64) {
        self.ttlMs = ttlMs
    }

    /// The value for `key` computed at most `ttlMs` before `nowMs`, or `compute`'s result.
    public func value(
        _ key: Key, nowMs: Int64, compute: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let (task, started) = entries.withLock { entries -> (Task<Value, any Error>, Bool) in
            if let entry = entries[key], nowMs - entry.startedMs < ttlMs, nowMs >= entry.startedMs {
                return (entry.task, false)
            }
            entries = entries.filter { nowMs - $0.value.startedMs < ttlMs && nowMs >= $0.value.startedMs }
            let task = Task { try await compute() }
            entries[key] = Entry(startedMs: nowMs, task: task)
            return (task, true)
        }
        do {
            return try await task.value
        } catch {
            if started {
                entries.withLock { entries in
                    if entries[key]?.task == task { entries[key] = nil }
                }
            }
            throw error
        }
    }

    /// Keys held (for tests).
    public var count: Int { entries.withLock { $0.count } }
}
