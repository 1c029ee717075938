import Testing

@testable import MonAgentKit
@testable import MonCore

/// One batch per tick from the sampler, the sources and the StatsD flush.
@Suite(.timeLimit(.minutes(1))) struct CycleBatchMergerTests {
    private func sample(_ name: String, _ tick: Int64) -> Sample { Sample(name, value: 1, timestampMs: tick) }

    @Test func everyProducersReportOfATickIsOneBatch() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 3, wait: .seconds(3600))
        let event = Event(kind: "redis_slowlog", key: "1", timestampMs: 5_000, payload: "{}")
        let histogram = HistogramSample("app_request_seconds", Labels(), timestampMs: 5_000, histogram: Histogram())
        await merger.report(tickMs: 5_000, samples: [sample("host", 5_000)], events: [], createdMs: 5_001)
        await merger.report(tickMs: 5_000, samples: [sample("redis", 5_000)], events: [event], createdMs: 5_003)
        #expect(await queue.depth == 0, "two of three reported: the batch waits")
        await merger.report(
            tickMs: 5_000, samples: [], events: [], histograms: [histogram], createdMs: 5_002)
        #expect(await queue.depth == 1)
        let batch = try #require(await queue.oldestUnacked())
        #expect(batch.samples.map(\.name) == ["host", "redis"])
        #expect(batch.events == [event])
        #expect(batch.histograms == [histogram])
        #expect(batch.createdMs == 5_003)
    }

    @Test func aReportForALaterTickQueuesTheEarlierOne() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 2, wait: .seconds(3600))
        await merger.report(tickMs: 5_000, samples: [sample("host", 5_000)], events: [], createdMs: 5_001)
        await merger.report(tickMs: 10_000, samples: [sample("host", 10_000)], events: [], createdMs: 10_001)
        #expect(await queue.depth == 1)
        #expect(await queue.oldestUnacked()?.samples.map(\.timestampMs) == [5_000])
        await merger.report(tickMs: 10_000, samples: [sample("redis", 10_000)], events: [], createdMs: 10_002)
        #expect(await queue.depth == 2)
    }

    @Test func aProducerThatDoesNotReportDelaysTheTickOnlyUntilTheWaitEnds() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 2, wait: .milliseconds(20))
        await merger.report(tickMs: 5_000, samples: [sample("host", 5_000)], events: [], createdMs: 5_001)
        while await queue.depth == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await queue.oldestUnacked()?.samples.map(\.name) == ["host"])
        // The late source's report is a batch of its own once the wait has passed.
        await merger.report(tickMs: 5_000, samples: [sample("postgres", 5_000)], events: [], createdMs: 5_400)
        while await queue.depth == 1 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await queue.depth == 2)
    }

    @Test func reportsWithNothingQueueNothing() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 2, wait: .seconds(3600))
        await merger.report(tickMs: 5_000, samples: [], events: [], createdMs: 5_001)
        await merger.report(tickMs: 5_000, samples: [], events: [], createdMs: 5_002)
        #expect(await queue.depth == 0)
        #expect(await queue.lastSeq == 0)
    }

    @Test func aLateReportIsQueuedAloneAndLeavesTheGatheredTickAlone() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 2, wait: .seconds(3600))
        await merger.report(tickMs: 5_000, samples: [sample("host", 5_000)], events: [], createdMs: 5_001)
        await merger.report(tickMs: 10_000, samples: [sample("host", 10_000)], events: [], createdMs: 10_001)
        #expect(await queue.depth == 1, "the later tick queued the earlier one")
        // A source that overran tick 5 000 reports while tick 10 000 is gathered.
        await merger.report(tickMs: 5_000, samples: [sample("postgres", 5_000)], events: [], createdMs: 10_002)
        #expect(await queue.depth == 2, "the late report goes at once, alone")
        await merger.report(tickMs: 10_000, samples: [sample("redis", 10_000)], events: [], createdMs: 10_003)
        #expect(await queue.depth == 3)
        var names: [[String]] = []
        while let batch = await queue.oldestUnacked() {
            names.append(batch.samples.map(\.name))
            await queue.acknowledge(upTo: batch.seq)
        }
        #expect(names == [["host"], ["postgres"], ["host", "redis"]])
    }

    @Test func aReportCanStandForSeveralProducers() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let merger = CycleBatchMerger(queue: queue, producers: 3, wait: .seconds(3600))
        await merger.report(tickMs: 5_000, samples: [sample("redis", 5_000)], events: [], createdMs: 5_001)
        // The sampler also answers for a source that skipped the tick.
        await merger.report(
            tickMs: 5_000, samples: [sample("host", 5_000)], events: [], createdMs: 5_002, producers: 2)
        #expect(await queue.depth == 1)
        #expect(await queue.oldestUnacked()?.samples.map(\.name) == ["redis", "host"])
    }
}
