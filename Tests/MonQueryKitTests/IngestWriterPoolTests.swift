import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct IngestWriterPoolTests {
    @Test("FNV-1a matches the published 64-bit test vectors (the same in every process and build)")
    func fnvVectors() {
        #expect(FNV1a.hash("".utf8) == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a".utf8) == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hash("foobar".utf8) == 0x8594_4171_f739_67e8)
    }

    @Test("a host always gets the same writer, pinned across builds", arguments: [1, 2, 3, 16])
    func sameHostSameWriter(count: Int) {
        for host in ["db-1", "web-0", "", "hôte-é", String(repeating: "x", count: 300)] {
            let index = IngestWriterPool.index(forHost: host, count: count)
            #expect((0..<count).contains(index))
            #expect((0..<100).allSatisfy { _ in IngestWriterPool.index(forHost: host, count: count) == index })
        }
        // Fixed values: a change of hash would move every host to another writer.
        #expect((0..<6).map { IngestWriterPool.index(forHost: "web-\($0)", count: 3) } == [0, 1, 2, 0, 2, 0])
    }

    @Test("hosts spread evenly over the writers", arguments: [2, 3, 4, 16])
    func spread(count: Int) {
        var perWriter = [Int](repeating: 0, count: count)
        for host in 0..<1000 {
            perWriter[IngestWriterPool.index(forHost: "host-\(host)", count: count)] += 1
        }
        let even = 1000 / count
        #expect(perWriter.allSatisfy { abs($0 - even) <= even / 5 }, "\(perWriter)")
    }

    @Test("the pool routes a host to one writer instance; one writer takes every host")
    func poolRoutes() {
        let pool = IngestWriterPool(count: 3, databaseURL: "postgresql:///unused", logger: .init(label: "test"))
        #expect(pool.writers.count == 3)
        #expect(pool.writer(forHost: "web-1") === pool.writer(forHost: "web-1"))
        #expect(pool.writer(forHost: "web-1") === pool.writers[1])
        #expect(pool.writer(forHost: "web-0") === pool.primary)
        // The writers share one series budget.
        #expect(pool.writers.allSatisfy { $0.seriesBudget === pool.primary.seriesBudget })
        let single = IngestWriterPool(count: 1, databaseURL: "postgresql:///unused", logger: .init(label: "test"))
        #expect(["a", "b", "web-2"].allSatisfy { single.writer(forHost: $0) === single.primary })
    }

    @Test("grants of the series budget never pass the cap, even taken at once")
    func budgetUnderConcurrency() async {
        let budget = SeriesBudget(cap: 100)
        budget.start(loaded: 10)
        budget.start(loaded: 50)  // A later read does not reset the count.
        #expect(budget.used == 10)
        let granted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    let room = budget.reserve(3)
                    // One row of each grant turned out to exist already: given back.
                    if room > 0 { budget.release(1) }
                    return room - (room > 0 ? 1 : 0)
                }
            }
            return await group.reduce(0, +)
        }
        #expect(budget.used == 10 + granted)
        #expect(budget.used <= 100)
        let before = budget.used
        #expect(budget.reserve(1_000) == 100 - before)
        #expect(budget.used == 100)
        #expect(budget.reserve(5) == 0)
        budget.release(4)
        #expect(budget.reserve(5) == 4)
        #expect(budget.reserve(-3) == 0)
    }
}
