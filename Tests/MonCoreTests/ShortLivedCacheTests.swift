import MonCore
import Synchronization
import Testing

@Suite struct ShortLivedCacheTests {
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

    @Test func aFailureIsNotKept() async throws {
        let cache = ShortLivedCache<String, Int>(ttlMs: 1000)
        await #expect(throws: Failure.self) {
            try await cache.value("k", nowMs: 0) { throw Failure() }
        }
        #expect(cache.count == 0)
        #expect(try await cache.value("k", nowMs: 1) { 7 } == 7)
        #expect(try await cache.value("k", nowMs: 2) { 8 } == 7)
    }
}
