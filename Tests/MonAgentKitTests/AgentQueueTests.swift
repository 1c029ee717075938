import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The agent side: batch queue, reconnect backoff, tick alignment, rates, collection cycle.
@Suite struct AgentQueueTests {}

private func batch(_ seq: UInt64) -> Batch {
    Batch(seq: seq, createdMs: Int64(seq) * 1000, samples: [Sample("m", value: Double(seq), timestampMs: 0)])
}

extension AgentQueueTests {
    @Suite struct MemoryBatchQueueTests {
        @Test func deliversInFIFOOrderUntilAcknowledged() async {
            let queue = MemoryBatchQueue(capacity: 10)
            #expect(await queue.oldestUnacked() == nil)
            #expect(await queue.depth == 0)
            for seq: UInt64 in 1...3 { await queue.append(batch(seq)) }
            #expect(await queue.depth == 3)
            #expect(await queue.oldestUnacked() == batch(1))
            #expect(await queue.oldestUnacked() == batch(1), "looking does not consume")
            await queue.acknowledge(upTo: 1)
            #expect(await queue.oldestUnacked() == batch(2))
            await queue.acknowledge(upTo: 2)
            #expect(await queue.oldestUnacked() == batch(3))
            await queue.acknowledge(upTo: 3)
            #expect(await queue.oldestUnacked() == nil)
            #expect(await queue.depth == 0)
            #expect(await queue.dropped == 0)
        }

        @Test func acknowledgeDropsEverySeqUpToAndIncluding() async {
            let queue = MemoryBatchQueue(capacity: 10)
            for seq: UInt64 in [3, 5, 7, 9] { await queue.append(batch(seq)) }
            await queue.acknowledge(upTo: 2)
            #expect(await queue.depth == 4, "nothing is at or below 2")
            await queue.acknowledge(upTo: 6)
            #expect(await queue.depth == 2)
            #expect(await queue.oldestUnacked()?.seq == 7)
            await queue.acknowledge(upTo: 6)
            #expect(await queue.depth == 2, "a repeated ack changes nothing")
            await queue.acknowledge(upTo: .max)
            #expect(await queue.depth == 0)
        }

        @Test func fullQueueDropsTheOldestAndCountsIt() async {
            let queue = MemoryBatchQueue(capacity: 3)
            for seq: UInt64 in 1...5 { await queue.append(batch(seq)) }
            #expect(await queue.depth == 3)
            #expect(await queue.dropped == 2)
            #expect(await queue.oldestUnacked()?.seq == 3)
            await queue.acknowledge(upTo: 4)
            #expect(await queue.oldestUnacked()?.seq == 5)
            #expect(await queue.depth == 1)
        }

        /// Enough appends to pass the internal compaction threshold several times.
        @Test func longRunKeepsOrderDepthAndDropCountExact() async {
            let queue = MemoryBatchQueue(capacity: 50)
            for seq: UInt64 in 1...1_000 {
                await queue.append(batch(seq))
                if seq % 7 == 0, seq > 20 {
                    await queue.acknowledge(upTo: seq - 20)
                }
            }
            let oldest = await queue.oldestUnacked()?.seq
            let depth = await queue.depth
            #expect(oldest.map { Int(1_000 - $0 + 1) } == depth, "the queue holds exactly the newest `depth` batches")
            #expect(depth <= 50)
            #expect(depth == 20 + Int(1_000 - 994), "acked up to 974 at seq 994; 975...1000 remain")
            // Drops happen only when 50 are waiting; with acks every 7 keeping ~20-27 there are none.
            #expect(await queue.dropped == 0)

            let small = MemoryBatchQueue(capacity: 2)
            for seq: UInt64 in 1...500 { await small.append(batch(seq)) }
            #expect(await small.dropped == 498)
            #expect(await small.oldestUnacked()?.seq == 499)
            await small.acknowledge(upTo: 499)
            #expect(await small.oldestUnacked()?.seq == 500)
        }

        @Test(arguments: [0, -5])
        func capacityIsAtLeastOne(capacity: Int) async {
            let queue = MemoryBatchQueue(capacity: capacity)
            #expect(await queue.capacity == 1)
            await queue.append(batch(1))
            await queue.append(batch(2))
            #expect(await queue.depth == 1)
            #expect(await queue.dropped == 1)
            #expect(await queue.oldestUnacked()?.seq == 2)
        }

        @Test(.timeLimit(.minutes(1)))
        func appendSignalsTheShipper() async {
            let queue = MemoryBatchQueue(capacity: 4)
            var signals = queue.appended.makeAsyncIterator()
            await queue.append(batch(1))
            await queue.append(batch(2))
            let signal: Void? = await signals.next()
            #expect(signal != nil)
        }
    }
}

extension AgentQueueTests {
    @Suite struct BackoffTests {
        @Test func delaysStayWithinHalfCeilingAndCeiling() {
            var generator = SeededGenerator(state: 0xDEAD_BEEF)
            var backoff = Backoff(initial: 0.1, maximum: 10)
            for attempt in 0..<40 {
                let ceiling = backoff.ceiling
                let delay = backoff.next(using: &generator)
                #expect(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "attempt \(attempt): \(delay) outside [\(ceiling / 2), \(ceiling)]")
            }
        }

        @Test func ceilingDoublesUntilTheMaximum() {
            var generator = SeededGenerator(state: 7)
            var backoff = Backoff(initial: 0.1, maximum: 10)
            var ceilings: [Double] = []
            for _ in 0..<10 {
                ceilings.append(backoff.ceiling)
                _ = backoff.next(using: &generator)
            }
            let expected = (0..<10).map { Swift.min(10, 0.1 * Double(1 << $0)) }
            #expect(ceilings == expected)
            #expect(ceilings[6] == 0.1 * 64)
            #expect(ceilings[7] == 10, "0.1 * 128 is capped at the maximum")
        }

        @Test func manyAttemptsStayCappedWithoutOverflow() {
            var generator = SeededGenerator(state: 99)
            var backoff = Backoff(initial: 0.5, maximum: 30)
            for _ in 0..<200 { _ = backoff.next(using: &generator) }
            #expect(backoff.ceiling == 30)
            let delay = backoff.next(using: &generator)
            #expect(delay >= 15 && delay <= 30)
        }

        @Test func resetStartsOverFromTheInitialDelay() {
            var generator = SeededGenerator(state: 12_345)
            var backoff = Backoff(initial: 0.2, maximum: 5)
            for _ in 0..<6 { _ = backoff.next(using: &generator) }
            #expect(backoff.ceiling == 5)
            backoff.reset()
            #expect(backoff.ceiling == 0.2)
            let delay = backoff.next(using: &generator)
            #expect(delay >= 0.1 && delay <= 0.2)
            #expect(backoff.ceiling == 0.4)
        }

        @Test func sameSeedGivesTheSameDelays() {
            var first = SeededGenerator(state: 2024)
            var second = SeededGenerator(state: 2024)
            var a = Backoff()
            var b = Backoff()
            let delaysA = (0..<12).map { _ in a.next(using: &first) }
            let delaysB = (0..<12).map { _ in b.next(using: &second) }
            #expect(delaysA == delaysB)
            #expect(Set(delaysA).count > 1, "jitter must vary the delays")
        }

        @Test func maximumBelowInitialIsRaisedToInitial() {
            let backoff = Backoff(initial: 2, maximum: 1)
            #expect(backoff.maximum == 2)
            #expect(backoff.ceiling == 2)
        }
    }
}

extension AgentQueueTests {
    @Suite struct SamplerTickTests {
        struct Tick: Sendable, CustomTestStringConvertible {
            var now: Int64
            var interval: Int64
            var expected: Int64
            var testDescription: String { "after \(now) every \(interval) -> \(expected)" }
        }

        static let ticks: [Tick] = [
            Tick(now: 0, interval: 5_000, expected: 5_000),
            Tick(now: 1, interval: 5_000, expected: 5_000),
            Tick(now: 4_999, interval: 5_000, expected: 5_000),
            Tick(now: 5_000, interval: 5_000, expected: 10_000),
            Tick(now: 12_345, interval: 1_000, expected: 13_000),
            Tick(now: 1_795_927_346_123, interval: 5_000, expected: 1_795_927_350_000),
            Tick(now: 1_795_927_350_000, interval: 5_000, expected: 1_795_927_355_000),
            Tick(now: 1_795_927_346_123, interval: 200, expected: 1_795_927_346_200),
            Tick(now: 7, interval: 1, expected: 8),
            Tick(now: 1_795_927_346_123, interval: 3_600_000, expected: 1_795_928_400_000),
        ]

        @Test("Next aligned tick is strictly after now", arguments: ticks)
        func nextTickIsAlignedAndStrictlyAfter(tick: Tick) {
            let next = AlignedTicker.nextTick(after: tick.now, intervalMs: tick.interval)
            #expect(next == tick.expected)
            #expect(next > tick.now)
            #expect(next % tick.interval == 0)
        }

        /// Before the epoch integer division rounds toward zero, not down.
        @Test("Negative times also give the next multiple", arguments: [Int64(-1), -4_999, -5_000, -5_001])
        func nextTickBeforeTheEpoch(now: Int64) {
            let next = AlignedTicker.nextTick(after: now, intervalMs: 5_000)
            #expect(next > now)
            #expect(next - now <= 5_000, "\(next) skips a tick after \(now)")
            #expect(next % 5_000 == 0)
        }
    }
}

extension AgentQueueTests {
    @Suite struct CounterRatesTests {
        @Test func firstReadingHasNoRate() {
            var rates = CounterRates()
            #expect(rates.rate("a", value: 100, timestampMs: 1_000) == nil)
        }

        @Test func rateIsPerSecondBetweenTwoReadings() {
            var rates = CounterRates()
            _ = rates.rate("a", value: 100, timestampMs: 1_000)
            rates.endCycle()
            #expect(rates.rate("a", value: 150, timestampMs: 11_000) == 5)
            rates.endCycle()
            #expect(rates.rate("a", value: 150, timestampMs: 12_000) == 0, "an unchanged counter is a zero rate")
            rates.endCycle()
            #expect(rates.rate("a", value: 151, timestampMs: 12_500) == 2)
        }

        @Test func keysAreIndependent() {
            var rates = CounterRates()
            _ = rates.rate("a", value: 0, timestampMs: 0)
            _ = rates.rate("b", value: 1_000, timestampMs: 0)
            rates.endCycle()
            #expect(rates.rate("a", value: 10, timestampMs: 1_000) == 10)
            #expect(rates.rate("b", value: 1_500, timestampMs: 1_000) == 500)
        }

        @Test func counterGoingDownGivesNoRateThenResumesFromTheNewValue() {
            var rates = CounterRates()
            _ = rates.rate("a", value: 1_000, timestampMs: 0)
            rates.endCycle()
            #expect(rates.rate("a", value: 10, timestampMs: 5_000) == nil)
            rates.endCycle()
            #expect(rates.rate("a", value: 60, timestampMs: 10_000) == 10)
        }

        @Test func sameOrEarlierTimestampGivesNoRate() {
            var rates = CounterRates()
            _ = rates.rate("a", value: 1, timestampMs: 5_000)
            #expect(rates.rate("a", value: 2, timestampMs: 5_000) == nil)
            #expect(rates.rate("a", value: 3, timestampMs: 4_000) == nil)
        }

        @Test func endCycleForgetsKeysNotSeenThisCycle() {
            var rates = CounterRates()
            _ = rates.rate("a", value: 1, timestampMs: 0)
            _ = rates.rate("b", value: 1, timestampMs: 0)
            rates.endCycle()
            _ = rates.rate("a", value: 2, timestampMs: 1_000)
            _ = rates.rate("c", value: 2, timestampMs: 1_000)
            rates.endCycle()
            #expect(rates.rate("b", value: 3, timestampMs: 2_000) == nil, "b vanished for a cycle and was forgotten")
            #expect(rates.rate("a", value: 3, timestampMs: 2_000) == 1)
            #expect(rates.rate("c", value: 4, timestampMs: 2_000) == 2)
        }
    }
}

/// Errors whose description the cycle must pass on.
private struct CollectorBroke: Error, CustomStringConvertible {
    var description: String { "cannot read /proc/stat" }
}

private final class FakeCollector: Collector {
    let name: String
    let fails: Bool
    private(set) var calls: [Int64] = []

    init(name: String, fails: Bool) {
        self.name = name
        self.fails = fails
    }

    func collect(timestampMs: Int64) throws -> [Sample] {
        calls.append(timestampMs)
        if fails { throw CollectorBroke() }
        return [
            Sample("mon_fake_value", ["k": "1"], value: 1, timestampMs: timestampMs),
            Sample("mon_fake_total", value: 2, kind: .counter, timestampMs: timestampMs),
        ]
    }
}

extension AgentQueueTests {
    @Suite struct CollectionCycleTests {
        @Test func failingCollectorIsReportedAndTheOthersStillRun() {
            let broken = FakeCollector(name: "broken", fails: true)
            let good = FakeCollector(name: "good", fails: false)
            let result = CollectionCycle(collectors: [broken, good]).run(timestampMs: 1_000)

            #expect(broken.calls == [1_000])
            #expect(good.calls == [1_000])
            #expect(result.samples.allSatisfy { $0.timestampMs == 1_000 })

            let success = Dictionary(
                result.samples.filter { $0.name == "mon_agent_collector_success" }.map {
                    ($0.labels["collector"] ?? "?", $0.value)
                },
                uniquingKeysWith: { first, _ in first }
            )
            #expect(success == ["broken": 0, "good": 1])
            #expect(result.samples.filter { $0.name == "mon_agent_collector_success" }.count == 2)

            let durations = result.samples.filter { $0.name == "mon_agent_collector_duration_seconds" }
            #expect(durations.compactMap { $0.labels["collector"] }.sorted() == ["broken", "good"])
            #expect(durations.allSatisfy { $0.value >= 0 && $0.kind == .gauge })
            #expect(result.samples.filter { $0.name == "mon_agent_cycle_duration_seconds" }.count == 1)

            let collected = result.samples.filter { $0.name.hasPrefix("mon_fake_") }
            #expect(collected.map(\.name) == ["mon_fake_value", "mon_fake_total"], "only the good collector's samples")
            #expect(collected.first?.labels["k"] == "1")

            #expect(result.failures.map(\.collector) == ["broken"])
            #expect(result.failures.first?.error == "cannot read /proc/stat")
            #expect(result.samples.count == 2 + 2 * 2 + 1)
        }

        @Test func noCollectorsStillReportsTheCycle() {
            let result = CollectionCycle(collectors: []).run(timestampMs: 5)
            #expect(result.samples.map(\.name) == ["mon_agent_cycle_duration_seconds"])
            #expect(result.failures.isEmpty)
        }

        @Test func durationSecondsCombinesSecondsAndAttoseconds() {
            #expect(Duration.milliseconds(1_500).seconds == 1.5)
            #expect(Duration.seconds(0).seconds == 0)
            #expect(Duration.microseconds(250).seconds == 0.000_25)
        }
    }
}
