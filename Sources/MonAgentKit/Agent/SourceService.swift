import Logging
import MonCore
import ServiceLifecycle

/// Runs one slow or remote source (PostgreSQL, Redis) on the same wall-clock ticks as the
/// host sampler, but in its own task: a source that is slow or away never delays the
/// host cycle. Each run becomes its own batch in the shared queue.
public struct SourceService: Service {
    let name: String
    let interval: Double
    let queue: any BatchQueue
    let collector: any RemoteCollector

    /// `name` labels the agent's own metrics (`collector="postgres"`).
    public init(name: String, interval: Double, queue: any BatchQueue, collector: any RemoteCollector) {
        self.name = name
        self.interval = interval
        self.queue = queue
        self.collector = collector
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var ticker = AlignedTicker(interval: interval)
        while !Task.isCancelled {
            guard let tick = await ticker.next() else { return }
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
            guard !samples.isEmpty || !events.isEmpty else { continue }
            await queue.enqueue(samples: samples, events: events, createdMs: WallClock.nowMs())
        }
    }
}
