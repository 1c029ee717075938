import Logging
import ServiceLifecycle

/// Runs one slow or remote source (PostgreSQL, Redis) on the same wall-clock ticks as the
/// host sampler, but in its own task: a source that is slow or away never delays the
/// host cycle. Each run becomes its own batch in the shared queue.
public struct SourceService: Service {
    public typealias Collect = @Sendable (Int64) async -> (samples: [Sample], events: [Event])

    let name: String
    let interval: Double
    let queue: any BatchQueue
    let collect: Collect

    /// `name` labels the agent's own metrics (`collector="postgres"`).
    public init(name: String, interval: Double, queue: any BatchQueue, collect: @escaping Collect) {
        self.name = name
        self.interval = interval
        self.queue = queue
        self.collect = collect
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        let intervalMs = max(1, Int64(interval * 1000))
        var lastTick: Int64 = 0
        while !Task.isCancelled {
            let now = WallClock.nowMs()
            let tick = Sampler.nextTick(after: max(now, lastTick), intervalMs: intervalMs)
            do {
                try await Task.sleep(for: .milliseconds(tick - now))
            } catch {
                return
            }
            lastTick = tick
            let started = ContinuousClock.now
            var (samples, events) = await collect(tick)
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
