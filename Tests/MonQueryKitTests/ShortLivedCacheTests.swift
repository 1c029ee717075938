import MonCore
import MonQueryKit
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct ShortLivedCacheTests {
    struct Failure: Error {}

    final class Counter: Sendable {
        let calls = Mutex(0)
        func next() -> Int {
            calls.withLock {
                $0 += 1
                return $0
            }
        }
    }

    @Test func concurrentCallersWithinTheTTLShareOneComputation() async throws {
        let cache = ShortLivedCache<String?, Int>(ttlMs: 1000)
        let counter = Counter()
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await cache.value(nil, nowMs: 10_000) {
                        try await Task.sleep(for: .milliseconds(20))
                        return counter.next()
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values == Array(repeating: 1, count: 8))
        #expect(try await cache.value(nil, nowMs: 10_999) { counter.next() } == 1)
        // Expired: computed again; another key is its own entry.
        #expect(try await cache.value(nil, nowMs: 11_000) { counter.next() } == 2)
        #expect(try await cache.value("h1", nowMs: 11_000) { counter.next() } == 3)
        #expect(cache.count == 2)
        // A clock that went back does not serve a value "from the future".
        #expect(try await cache.value(nil, nowMs: 10_500) { counter.next() } == 4)
        // Starting a computation drops the expired entries.
        #expect(try await cache.value("h2", nowMs: 20_000) { counter.next() } == 5)
        #expect(cache.count == 1)
    }

    @Test func aCostlyValueStaysFreshLongerUpToStale() async throws {
        let cache = ShortLivedCache<String?, Int>(ttlMs: 100, staleMs: 5000, costFactor: 10)
        let counter = Counter()
        // At least 200 ms of computation: fresh for at least 2 s instead of 100 ms.
        #expect(
            try await cache.value(nil, nowMs: 0) {
                try await Task.sleep(for: .milliseconds(200))
                return counter.next()
            } == 1)
        #expect(try await cache.value(nil, nowMs: 1_999) { counter.next() } == 1)
        #expect(counter.calls.withLock { $0 } == 1)
        // Fresh for at most staleMs however long it took, then stale while one refresh runs
        // (for staleMs - ttlMs more): no caller waits.
        let slow = ShortLivedCache<String?, Int>(ttlMs: 100, staleMs: 300, costFactor: 10)
        _ = try await slow.value(nil, nowMs: 0) {
            try await Task.sleep(for: .milliseconds(200))
            return counter.next()
        }
        #expect(try await slow.value(nil, nowMs: 299) { counter.next() } == 2)
        #expect(try await slow.value(nil, nowMs: 499) { counter.next() } == 2)
        while slow.isComputing(nil) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await slow.value(nil, nowMs: 500) { counter.next() } == 3)
        // Without a cost factor, ttlMs only.
        let plain = ShortLivedCache<String?, Int>(ttlMs: 100, staleMs: 5000)
        _ = try await plain.value(nil, nowMs: 0) {
            try await Task.sleep(for: .milliseconds(200))
            return counter.next()
        }
        // Stale after 100 ms: served at once while a refresh starts.
        #expect(try await plain.value(nil, nowMs: 150) { counter.next() } == 4)
        try await Task.sleep(for: .milliseconds(50))
        #expect(counter.calls.withLock { $0 } == 5)
    }

    @Test func aFailureIsNotKept() async throws {
        let cache = ShortLivedCache<String, Int>(ttlMs: 1000)
        await #expect(throws: Failure.self) {
            try await cache.value("k", nowMs: 0) { throw Failure() }
        }
        #expect(cache.count == 0)
        #expect(try await cache.value("k", nowMs: 1) { 7 } == 7)
        #expect(try await cache.value("k", nowMs: 2) { 8 } == 7)
    }

    /// Lets a computation finish when the test says so.
    final class Gate: Sendable {
        let stream: AsyncStream<Void>
        let continuation: AsyncStream<Void>.Continuation
        init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
        func wait() async { for await _ in stream { return } }
        func open() { continuation.yield() }
    }

    static func settle(_ cache: ShortLivedCache<String, Int>, _ key: String) async throws {
        while cache.isComputing(key) { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func aStaleValueIsServedWhileOneRefreshRunsInTheBackground() async throws {
        let cache = ShortLivedCache<String, Int>(ttlMs: 1000, staleMs: 5000)
        let counter = Counter()
        #expect(try await cache.value("k", nowMs: 0) { counter.next() } == 1)
        // Past the TTL: the old value at once, one refresh started and held by the gate.
        let gate = Gate()
        let refresh: @Sendable () async throws -> Int = {
            await gate.wait()
            return counter.next()
        }
        #expect(try await cache.value("k", nowMs: 1500, compute: refresh) == 1)
        #expect(cache.isComputing("k"))
        #expect(try await cache.value("k", nowMs: 1600) { counter.next() } == 1, "no second refresh")
        gate.open()
        try await Self.settle(cache, "k")
        // The refreshed value, stamped when its computation started (1500), is fresh at 2400.
        #expect(try await cache.value("k", nowMs: 2400) { counter.next() } == 2)
        // Past `staleMs`: nothing usable, the caller waits for a new computation.
        #expect(try await cache.value("k", nowMs: 6500) { counter.next() } == 3)
        #expect(counter.calls.withLock { $0 } == 3)
    }

    @Test func aFailedRefreshKeepsServingTheStaleValueUntilItExpires() async throws {
        let cache = ShortLivedCache<String, Int>(ttlMs: 1000, staleMs: 5000)
        #expect(try await cache.value("k", nowMs: 0) { 1 } == 1)
        #expect(try await cache.value("k", nowMs: 2000) { throw Failure() } == 1)
        try await Self.settle(cache, "k")
        #expect(try await cache.value("k", nowMs: 3000) { throw Failure() } == 1)
        try await Self.settle(cache, "k")
        await #expect(throws: Failure.self) {
            try await cache.value("k", nowMs: 5000) { throw Failure() }
        }
        #expect(try await cache.value("k", nowMs: 5001) { 9 } == 9)
    }
}
