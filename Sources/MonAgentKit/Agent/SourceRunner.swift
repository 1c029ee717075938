import MonCore
import Synchronization

/// Runs one slow or remote source (PostgreSQL, Redis) when the sampler's tick starts it,
/// in a task of its own on the collector's own thread: a source that is slow or away never
/// delays the host cycle. Its run reports to the tick's `CycleBatchMerger` (or, without
/// one, queues its own batch). A tick that finds the previous run still going is skipped
/// for this source (counted in `skippedTicks`), never run twice at once — as a timer of its
/// own used to skip the ticks a run overran.
public final class SourceRunner: Sendable {
    let name: String
    let queue: any BatchQueue
    let collector: any RemoteCollector
    let merger: CycleBatchMerger?
    private let running = Atomic<Bool>(false)
    private let skipped = Atomic<Int>(0)

    /// `name` labels the agent's own metrics (`collector="postgres"`).
    public init(name: String, queue: any BatchQueue, collector: any RemoteCollector, merger: CycleBatchMerger? = nil) {
        self.name = name
        self.queue = queue
        self.collector = collector
        self.merger = merger
    }

    /// Ticks this source skipped because its previous run was still going.
    public var skippedTicks: Int { skipped.load(ordering: .relaxed) }

    /// Whether a run is going.
    var isRunning: Bool { running.load(ordering: .acquiring) }

    /// Starts a run for `tick` unless one is going; returns the task, nil when it skipped the tick.
    @discardableResult
    public func start(tickMs tick: Int64) -> Task<Void, Never>? {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else {
            skipped.add(1, ordering: .relaxed)
            return nil
        }
        return Task { [self] in
            await collect(tickMs: tick)
            running.store(false, ordering: .releasing)
        }
    }

    private func collect(tickMs tick: Int64) async {
        let started = ContinuousClock.now
        let output = await collector.collect(timestampMs: tick)
        var samples = output.samples
        let events = output.events
        samples.append(
            Sample(
                "mon_agent_collector_duration_seconds",
                ["collector": name],
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
