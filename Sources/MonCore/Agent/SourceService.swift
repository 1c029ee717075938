import Logging
import ServiceLifecycle

/// What a remote source produced in one cycle.
public struct SourceOutput: Sendable {
    public var samples: [Sample] = []
    public var events: [Event] = []

    public init() {}
}

/// A source that talks to a server (PostgreSQL, Redis) from its own thread; it never
/// throws: failures are reported as samples (`mon_<source>_up 0`) and log lines.
public protocol RemoteCollector: Actor {
    func collect(timestampMs: Int64) -> SourceOutput
}

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
