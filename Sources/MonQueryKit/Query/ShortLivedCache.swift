import MonCore
import Synchronization

/// Results kept for a short time, one computation per key at a time, refreshed in the
/// background. For API figures that many callers ask for at once and that cannot change
/// faster than the agents sample (every 5 s by default), so that concurrent dashboards do
/// not queue the same queries on the API's single database connection, and so that no
/// caller waits for a refresh while a recent value exists.
///
/// - A value younger than `ttlMs` (counted from when its computation started) is served.
/// - A value older than `ttlMs` but younger than `staleMs` is still served at once, and
///   one computation starts in the background to replace it (stale-while-revalidate).
/// - Without a usable value, callers wait for the one computation in flight (or start it).
///
/// A computation that has run for `staleMs` is no longer joined: the next caller starts
/// another. A computation that fails is forgotten at once (the next caller retries; a value still
/// younger than `staleMs` keeps being served meanwhile). Entries with neither a usable
/// value nor a computation in flight are dropped whenever a computation starts, so the
/// cache holds only the keys of the last `staleMs`. A clock that went back never serves a
/// value "from the future".
public final class ShortLivedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Computation {
        var startedMs: Int64
        var task: Task<Value, any Error>
    }

    enum Next {
        case ready(Value)
        case wait(Task<Value, any Error>)
    }

    struct Entry {
        /// The latest value, when its computation started, and how long it took (ms).
        var latest: (value: Value, startedMs: Int64, tookMs: Int64)?
        var inFlight: Computation?

        /// The latest value if it is at most `maxAgeMs` old at `nowMs` (never one "from the future").
        func value(maxAgeMs: Int64, nowMs: Int64) -> Value? {
            guard let latest, nowMs >= latest.startedMs, nowMs - latest.startedMs < maxAgeMs else { return nil }
            return latest.value
        }
    }

    public let ttlMs: Int64
    public let staleMs: Int64
    /// A value stays fresh for at least this many times as long as its computation took (at
    /// most `staleMs`), and may be served stale for `staleMs - ttlMs` beyond that: a
    /// computation that grows with the fleet (the summary's figures over every host) then
    /// takes at most about 1 / `costFactor` of a connection however often callers ask, and
    /// callers still never wait for a refresh. 0: `ttlMs` only.
    public let costFactor: Int64
    private let entries = Mutex<[Key: Entry]>([:])

    /// `staleMs` below `ttlMs` is raised to `ttlMs` (no stale serving).
    public init(ttlMs: Int64, staleMs: Int64? = nil, costFactor: Int64 = 0) {
        self.ttlMs = ttlMs
        self.staleMs = max(ttlMs, staleMs ?? ttlMs)
        self.costFactor = max(0, costFactor)
    }

    /// How long `entry`'s latest value is fresh.
    private func freshMs(_ entry: Entry) -> Int64 {
        guard costFactor > 0, let took = entry.latest?.tookMs else { return ttlMs }
        return min(staleMs, max(ttlMs, took.multipliedReportingOverflow(by: costFactor).partialValue))
    }

    /// How long `entry`'s latest value may be served at all (fresh, then stale while a refresh runs).
    private func usableMs(_ entry: Entry) -> Int64 { freshMs(entry) + (staleMs - ttlMs) }

    /// The value for `key`: fresh (computed at most `ttlMs` before `nowMs`), or stale (at
    /// most `staleMs`) while a refresh runs, or `compute`'s result.
    public func value(
        _ key: Key, nowMs: Int64, compute: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let next = entries.withLock { entries -> Next in
            var entry = entries[key] ?? Entry()
            if let fresh = entry.value(maxAgeMs: freshMs(entry), nowMs: nowMs) { return .ready(fresh) }
            let stale = entry.value(maxAgeMs: usableMs(entry), nowMs: nowMs)
            let task: Task<Value, any Error>
            // A computation older than `staleMs` (stuck, say) is no longer waited for.
            if let running = entry.inFlight, nowMs >= running.startedMs, nowMs - running.startedMs < staleMs {
                task = running.task
            } else {
                entries = entries.filter { $0.key == key || self.isLive($0.value, nowMs: nowMs) }
                task = start(key, startedMs: nowMs, compute)
                entry.inFlight = Computation(startedMs: nowMs, task: task)
                entries[key] = entry
            }
            if let stale { return .ready(stale) }
            return .wait(task)
        }
        switch next {
        case .ready(let value): return value
        case .wait(let task): return try await task.value
        }
    }

    private func isLive(_ entry: Entry, nowMs: Int64) -> Bool {
        entry.inFlight != nil || entry.value(maxAgeMs: usableMs(entry), nowMs: nowMs) != nil
    }

    /// Runs `compute`, then keeps its value (unless a newer one landed) and clears the slot.
    private func start(
        _ key: Key, startedMs: Int64, _ compute: @escaping @Sendable () async throws -> Value
    ) -> Task<Value, any Error> {
        Task {
            do {
                let clock = ContinuousClock()
                let began = clock.now
                let value = try await compute()
                let took = began.duration(to: clock.now)
                let tookMs = took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000
                entries.withLock { entries in
                    var entry = entries[key] ?? Entry()
                    if (entry.latest?.startedMs ?? .min) <= startedMs { entry.latest = (value, startedMs, tookMs) }
                    if entry.inFlight?.startedMs == startedMs { entry.inFlight = nil }
                    entries[key] = entry
                }
                return value
            } catch {
                entries.withLock { entries in
                    guard var entry = entries[key], entry.inFlight?.startedMs == startedMs else { return }
                    entry.inFlight = nil
                    entries[key] = entry.latest == nil ? nil : entry
                }
                throw error
            }
        }
    }

    /// Keys held (for tests).
    public var count: Int { entries.withLock { $0.count } }

    /// True while a computation for `key` runs (for tests).
    public func isComputing(_ key: Key) -> Bool { entries.withLock { $0[key]?.inFlight != nil } }
}
