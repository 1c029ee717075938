import Logging
import MonCore
import ServiceLifecycle

/// Runs one slow or remote source (PostgreSQL, Redis) on the same wall-clock ticks as the
/// host sampler, but in its own task: a source that is slow or away never delays the
/// host cycle. Each run becomes its own batch in the shared queue, or, with a `merger`, part
/// of the tick's one batch.
public struct SourceService: Service {
    let name: String
    let interval: Double
    let queue: any BatchQueue
    let collector: any RemoteCollector
    let merger: CycleBatchMerger?

    /// `name` labels the agent's own metrics (`collector="postgres"`).
    public init(
        name: String, interval: Double, queue: any BatchQueue, collector: any RemoteCollector,
        merger: CycleBatchMerger? = nil
    ) {
        self.name = name
        self.interval = interval
        self.queue = queue
        self.collector = collector
        self.merger = merger
    }

    public func run() async throws {
        try await PeriodicService(
            name: name, schedule: .aligned(interval: interval), logger: Logger(label: "monagent.\(name)")
        ) { [self] tick in
            await collect(tickMs: tick.timestampMs)
            return .next
        }.run()
    }

    private func collect(tickMs tick: Int64) async {
        let started = ContinuousClock.now
        let output = await collector.collect(timestampMs: tick)
        var samples = output.samples
        let events = output.events
        let labels: Labels = ["collector": name]
        samples.append(
            Sample(
                "mon_agent_collector_duration_seconds",
                labels,
                value: started.duration(to: .now).seconds,
                timestampMs: tick
            )
        )
        if let merger {
            await merger.report(tickMs: tick, samples: samples, events: events, createdMs: WallClock.nowMs())
            return
        }
        guard !samples.isEmpty || !events.isEmpty else { return }
        await queue.enqueue(samples: samples, events: events, createdMs: WallClock.nowMs())
    }
}
