import Logging
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The sampler service: its first cycle runs at start, the rest on aligned ticks.
@Suite(.timeLimit(.minutes(1))) struct SamplerTests {
    private final class Counting: Collector {
        let name = "counting"
        private var calls = 0

        func collect(timestampMs: Int64) throws -> [Sample] {
            calls += 1
            return [Sample("mon_test_calls_total", value: Double(calls), kind: .counter, timestampMs: timestampMs)]
        }
    }

    @Test("the first cycle runs at start, not at the first aligned tick an hour away")
    func firstCycleRunsAtStart() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let sampler = Sampler(configuration: .init(interval: 3600), queue: queue, logger: Logger(label: "test")) {
            [Counting()]
        }
        let task = Task { try await sampler.run() }
        while await queue.depth == 0 { try await Task.sleep(for: .milliseconds(1)) }
        task.cancel()
        try await task.value
        let batch = try #require(await queue.oldestUnacked())
        let calls = try #require(batch.samples.first { $0.name == "mon_test_calls_total" })
        #expect(calls.value == 1)
        #expect(batch.samples.contains { $0.name == "mon_agent_cycle_duration_seconds" })
        #expect(await queue.depth == 1, "the next cycle waits for the aligned tick")
    }
}
