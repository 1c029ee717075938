import MonCore

/// Gathers what the agent's periodic producers (the host sampler, the PostgreSQL and Redis
/// sources, the StatsD flush) report for one wall-clock tick into one batch.
///
/// Each producer runs in its own task so that a slow source never delays the others; each
/// used to queue a batch of its own, so an idle cycle made four batches: four spool appends,
/// four round trips to the daemon and four acknowledgements. Now the batch of a tick is
/// queued once every producer has reported for it, or `wait` after the first report (a
/// source that is slow or away then reports in a batch of its own, later), or as soon as a
/// report for a later tick arrives.
public actor CycleBatchMerger {
    let queue: any BatchQueue
    let producers: Int
    let wait: Duration
    private var tickMs: Int64?
    private var reported = 0
    private var samples: [Sample] = []
    private var events: [Event] = []
    private var histograms: [HistogramSample] = []
    private var createdMs: Int64 = 0
    /// The newest tick queued so far: a report for it or an earlier one is late.
    private var queuedTickMs = Int64.min
    /// Counts the ticks begun, so that a deadline armed for one tick leaves a later one alone.
    private var generation = 0

    /// `producers` is how many report every tick; `wait` how long the first report waits for the others.
    public init(queue: any BatchQueue, producers: Int, wait: Duration = .seconds(1)) {
        self.queue = queue
        self.producers = max(1, producers)
        self.wait = wait
    }

    /// Adds one producer's report for the tick `tickMs` (possibly empty: it still counts as
    /// reported); `producers` is how many it stands for (the sampler also answers for a source
    /// that skipped the tick because its previous run was still going).
    public func report(
        tickMs: Int64, samples: [Sample], events: [Event], histograms: [HistogramSample] = [], createdMs: Int64,
        producers count: Int = 1
    ) async {
        if tickMs <= queuedTickMs || tickMs < (self.tickMs ?? tickMs) {
            let late = Batch(seq: 0, createdMs: createdMs, samples: samples, events: events, histograms: histograms)
            if !late.isEmpty { await queue.enqueue(late) }
            return
        }
        if let pending = self.tickMs, pending != tickMs { await flush() }
        if self.tickMs == nil {
            self.tickMs = tickMs
            generation += 1
            if producers > 1 {
                let armed = generation
                Task { [wait] in
                    try? await Task.sleep(for: wait)
                    await self.flush(ifGeneration: armed)
                }
            }
        }
        if self.samples.isEmpty { self.samples = samples } else { self.samples += samples }
        if self.events.isEmpty { self.events = events } else { self.events += events }
        self.histograms += histograms
        self.createdMs = max(self.createdMs, createdMs)
        reported += max(1, count)
        if reported >= producers { await flush() }
    }

    private func flush(ifGeneration armed: Int) async {
        if armed == generation, tickMs != nil { await flush() }
    }

    /// Queues what was gathered (nothing when every report was empty) and starts afresh.
    private func flush() async {
        let batch = Batch(seq: 0, createdMs: createdMs, samples: samples, events: events, histograms: histograms)
        if let tickMs { queuedTickMs = max(queuedTickMs, tickMs) }
        tickMs = nil
        reported = 0
        samples = []
        events = []
        histograms = []
        createdMs = 0
        if !batch.isEmpty { await queue.enqueue(batch) }
    }
}
