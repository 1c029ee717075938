import Logging
import MonCore
import ServiceLifecycle

/// Samples every collector on a wall-clock-aligned interval and queues one batch per cycle.
///
/// Cycle timestamps are multiples of the interval (12:00:00, 12:00:05, ...), so every
/// host's samples line up and a missing cycle is visible as a missing timestamp. One cycle
/// also runs at start, stamped with the wall clock then: its batch reaches the daemon within
/// a second of `monagent run` instead of up to an interval later, and it primes the rates
/// (CPU usage, counter deltas) that the first aligned cycle then reports.
///
/// It is the agent's one tick driver: each aligned tick first starts the remote sources
/// (`SourceRunner`: each in a task of its own on its collector's thread, so a slow one never
/// delays the host cycle), then runs the host cycle and the app-signal flush in its own task
/// and reports them together. One timer wakes the agent per interval, instead of one per
/// producer.
public struct Sampler: Service {
    public struct Configuration: Sendable {
        /// Seconds between cycles (`interval`, default 5; fractions allowed for tests).
        public var interval: Double
        /// After the first aligned cycle, give back the program's code pages that start-up
        /// touched (`ProgramCodeTrim`), again every `ProgramCodeTrim.periodSeconds`, and
        /// after every cycle the heap's free pages
        /// (`HeapTrim`); `monagent run` sets it, tests leave it off.
        public var trimsProgramCode: Bool
        /// Gathers each aligned cycle's samples with the sources' into one batch (the cycle at
        /// start, off the tick grid, is queued at once); nil queues a batch per cycle.
        public var merger: CycleBatchMerger?
        /// Started at each aligned tick, before the host cycle.
        public var sources: [SourceRunner]
        /// Called at each aligned tick with its timestamp; what it returns (the StatsD and log
        /// signals: `AppAggregator.flush`) goes into the host cycle's report.
        public var flushAppSignals: FlushAppSignals?

        public typealias FlushAppSignals =
            @Sendable (_ timestampMs: Int64) -> (
                samples: [Sample], histograms: [HistogramSample]
            )

        public init(
            interval: Double, trimsProgramCode: Bool = false, merger: CycleBatchMerger? = nil,
            sources: [SourceRunner] = [], flushAppSignals: FlushAppSignals? = nil
        ) {
            self.interval = interval
            self.trimsProgramCode = trimsProgramCode
            self.merger = merger
            self.sources = sources
            self.flushAppSignals = flushAppSignals
        }
    }

    /// What the loop keeps between cycles.
    struct Loop {
        var cycle: CollectionCycle
        var runs = 0
    }

    let configuration: Configuration
    let makeCollectors: @Sendable () -> [any Collector]
    let queue: any BatchQueue
    let logger: Logger

    public init(
        configuration: Configuration,
        queue: any BatchQueue,
        logger: Logger,
        makeCollectors: @escaping @Sendable () -> [any Collector]
    ) {
        self.configuration = configuration
        self.queue = queue
        self.logger = logger
        self.makeCollectors = makeCollectors
    }

    public func run() async throws {
        let makeCollectors = self.makeCollectors
        try await PeriodicService(
            name: "sampler", schedule: .startThenAligned(interval: configuration.interval), logger: logger,
            makeState: { Loop(cycle: CollectionCycle(collectors: makeCollectors())) },
            body: { [self] state, tick in
                let aligned = state.runs > 0
                // A source still busy with an earlier tick skips this one; the sampler answers for it.
                var skipped = 0
                if aligned {
                    for source in configuration.sources where source.start(tickMs: tick.timestampMs) == nil {
                        skipped += 1
                    }
                }
                await sample(state.cycle, tick, aligned: aligned, standingFor: 1 + skipped)
                state.runs += 1
                if configuration.trimsProgramCode,
                    ProgramCodeTrim.isDue(afterRun: state.runs, interval: configuration.interval)
                {
                    let bytes = ProgramCodeTrim.trim()
                    logger.debug("program code pages given back", metadata: ["bytes": "\(bytes)"])
                }
                if configuration.trimsProgramCode { HeapTrim.trim() }
                return .next
            }
        ).run()
    }

    private func sample(
        _ cycle: CollectionCycle, _ periodic: PeriodicService<Loop>.Tick, aligned: Bool, standingFor producers: Int
    ) async {
        let tick = periodic.timestampMs
        let result = cycle.run(timestampMs: tick)
        for failure in result.failures {
            logger.warning(
                "collector failed",
                metadata: ["collector": "\(failure.collector)", "error": "\(failure.error)"]
            )
        }
        var samples = result.samples
        let depth = await queue.depth
        let dropped = await queue.dropped
        samples.append(Sample("mon_agent_queue_batches", value: Double(depth), timestampMs: tick))
        samples.append(
            Sample(
                "mon_agent_cycles_skipped_total", value: Double(periodic.skippedTicks), kind: .counter,
                timestampMs: tick))
        samples.append(
            Sample(
                "mon_agent_queue_dropped_total",
                value: Double(dropped),
                kind: .counter,
                timestampMs: tick
            )
        )
        samples += queue.shaper.counters.samples(timestampMs: tick)
        if let spool = await queue.spoolStats {
            for (name, value, kind) in [
                ("mon_agent_spool_bytes", spool.bytes, MetricKind.gauge),
                ("mon_agent_spool_segments", spool.segments, .gauge),
                ("mon_agent_spool_dropped_total", spool.dropped, .counter),
                ("mon_agent_spool_write_errors_total", spool.writeErrors, .counter),
                ("mon_agent_spool_torn_records_total", spool.tornRecords, .counter),
                ("mon_agent_spool_recovered_batches", spool.recovered, .gauge),
                ("mon_agent_spool_memory_bytes", spool.memoryBytes, .gauge),
            ] {
                samples.append(Sample(name, value: Double(value), kind: kind, timestampMs: tick))
            }
        }
        var histograms: [HistogramSample] = []
        if aligned, let flushAppSignals = configuration.flushAppSignals {
            let flushed = flushAppSignals(tick)
            samples += flushed.samples
            histograms = flushed.histograms
        }
        if aligned, let merger = configuration.merger {
            await merger.report(
                tickMs: tick, samples: samples, events: [], histograms: histograms, createdMs: WallClock.nowMs(),
                producers: producers)
        } else {
            let batch = Batch(seq: 0, createdMs: WallClock.nowMs(), samples: samples, histograms: histograms)
            await queue.enqueue(batch)
        }
    }
}
