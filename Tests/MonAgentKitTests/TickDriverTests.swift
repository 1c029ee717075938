import Foundation
import Logging
import Synchronization
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The sampler as the agent's one tick driver: it starts the remote sources, runs the host
/// cycle and the app-signal flush, and a source still busy never holds a tick back.
@Suite(.timeLimit(.minutes(1))) struct TickDriverTests {
    /// Lets a source's runs through only while open; counts the runs that got in.
    final class Gate: @unchecked Sendable {
        private let condition = NSCondition()
        private var isOpen: Bool
        private var entered = 0

        init(open: Bool) { isOpen = open }

        var runs: Int { condition.withLock { entered } }

        func open() {
            condition.withLock {
                isOpen = true
                condition.broadcast()
            }
        }

        func pass() {
            condition.withLock {
                entered += 1
                while !isOpen { condition.wait() }
            }
        }
    }

    /// A remote source on a thread of its own, as the PostgreSQL and Redis ones are.
    actor GatedSource: RemoteCollector {
        private let executor = ThreadExecutor(name: "test-source")
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        let gate: Gate

        init(gate: Gate) { self.gate = gate }

        func collect(timestampMs: Int64) -> SourceOutput {
            gate.pass()
            var output = SourceOutput()
            output.samples = [Sample("mon_test_source", value: 1, timestampMs: timestampMs)]
            return output
        }
    }

    /// Counts the host cycles (shared with the test, which reads it after the sampler stopped).
    final class Counting: Collector, Sendable {
        let name = "counting"
        let calls = Atomic<Int>(0)

        func collect(timestampMs: Int64) throws -> [Sample] {
            let call = calls.add(1, ordering: .relaxed).newValue
            return [Sample("mon_test_calls_total", value: Double(call), kind: .counter, timestampMs: timestampMs)]
        }
    }

    private func batches(_ queue: MemoryBatchQueue) async -> [Batch] {
        var all: [Batch] = []
        while let batch = await queue.oldestUnacked() {
            all.append(batch)
            await queue.acknowledge(upTo: batch.seq)
        }
        return all
    }

    /// A sampler over `counting` alone, running until the task is cancelled.
    private func run(_ configuration: Sampler.Configuration, _ queue: MemoryBatchQueue, _ counting: Counting)
        -> Task<Void, any Error>
    {
        let sampler = Sampler(configuration: configuration, queue: queue, logger: Logger(label: "test")) { [counting] }
        return Task { try await sampler.run() }
    }

    private func waitUntil(_ queue: MemoryBatchQueue, depth: Int) async throws {
        while await queue.depth < depth { try await Task.sleep(for: .milliseconds(2)) }
    }

    @Test("a source whose run is still going skips the tick instead of running twice at once")
    func busySourceSkipsTheTick() async throws {
        let gate = Gate(open: false)
        let queue = MemoryBatchQueue(capacity: 10)
        let runner = SourceRunner(name: "postgres", queue: queue, collector: GatedSource(gate: gate))
        let first = try #require(runner.start(tickMs: 5_000))
        while gate.runs == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(runner.start(tickMs: 10_000) == nil)
        #expect(runner.skippedTicks == 1)
        gate.open()
        await first.value
        #expect(gate.runs == 1)
        let second = try #require(runner.start(tickMs: 15_000))
        await second.value
        let queued = await batches(queue)
        #expect(
            queued.map { $0.samples.first?.timestampMs } == [5_000, 15_000], "each run, without a merger, its own batch"
        )
        #expect(queued.allSatisfy { $0.samples.contains { $0.name == "mon_agent_collector_duration_seconds" } })
    }

    @Test("an aligned tick is one batch: host cycle, app signals and the source's report")
    func oneBatchPerTick() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 2, wait: .seconds(60))
        let aggregator = AppAggregator(config: StatsDConfig())
        aggregator.count("mon_test_app_total")
        let runner = SourceRunner(
            name: "redis", queue: queue, collector: GatedSource(gate: Gate(open: true)), merger: merger)
        let counting = Counting()
        // A second between ticks: the source must report before the next tick, whose first
        // report flushes this one (at 50 ms a loaded CI run missed it: a correct late batch).
        let task = run(
            .init(
                interval: 1, merger: merger, sources: [runner],
                flushAppSignals: { aggregator.flush(timestampMs: $0) }), queue, counting)
        try await waitUntil(queue, depth: 2)
        task.cancel()
        try await task.value
        let queued = await batches(queue)
        let start = try #require(queued.first)
        #expect(!start.samples.contains { $0.name == "mon_test_source" || $0.name == "mon_test_app_total" })
        let tick = queued[1]
        let names = Set(tick.samples.map(\.name))
        #expect(names.isSuperset(of: ["mon_test_calls_total", "mon_test_source", "mon_test_app_total"]))
        #expect(Set(tick.samples.map(\.timestampMs)).count <= 2, "one tick (a new counter's zero is 1 ms before)")
    }

    @Test("a tick whose source is still busy is queued when the sampler reports, not when the next tick comes")
    func busySourceDoesNotHoldTheTickBack() async throws {
        let gate = Gate(open: false)
        let queue = MemoryBatchQueue(capacity: 100)
        // A deadline an hour away: only the reports can complete a tick.
        let merger = CycleBatchMerger(queue: queue, producers: 2, wait: .seconds(3600))
        let runner = SourceRunner(name: "postgres", queue: queue, collector: GatedSource(gate: gate), merger: merger)
        let counting = Counting()
        let task = run(.init(interval: 0.05, merger: merger, sources: [runner]), queue, counting)
        try await waitUntil(queue, depth: 3)
        task.cancel()
        try await task.value
        let queued = await batches(queue)
        let newest = queued.compactMap { $0.samples.first { $0.name == "mon_test_calls_total" }?.value }.max()
        #expect(newest == Double(counting.calls.load(ordering: .relaxed)), "the last cycle is queued, not pending")
        #expect(runner.skippedTicks >= 1)
        #expect(!queued.contains { $0.samples.contains { $0.name == "mon_test_source" } })
        // The source's late report, once it returns, goes in a batch of its own.
        gate.open()
        try await waitUntil(queue, depth: 1)
        let late = await batches(queue)
        #expect(late.map { $0.samples.map(\.name).contains("mon_test_source") } == [true])
    }
}
