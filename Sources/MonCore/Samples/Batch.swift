/// What one agent ships in one frame: everything one cycle produced.
///
/// Later sources add sections (histograms, logs, events); the wire format
/// carries them as tagged sections so an old daemon can skip what it does not know.
public struct Batch: Sendable, Hashable {
    /// Sequence number, strictly increasing per (agent, boot).
    public var seq: UInt64
    /// When the agent built the batch, ms since the epoch.
    public var createdMs: Int64
    public var samples: [Sample]
    public var events: [Event]
    public var histograms: [HistogramSample]
    public var logs: [LogRecord]
    /// Finished trace spans received over OTLP.
    public var spans: [SpanRecord]
    /// Entries the daemon's decoder left out because their contents were inconsistent (a
    /// histogram whose counts, bounds or sum disagree); never encoded. They count as rejected.
    public var droppedOnDecode = 0

    public init(
        seq: UInt64, createdMs: Int64, samples: [Sample], events: [Event] = [],
        histograms: [HistogramSample] = [], logs: [LogRecord] = [], spans: [SpanRecord] = []
    ) {
        self.seq = seq
        self.createdMs = createdMs
        self.samples = samples
        self.events = events
        self.histograms = histograms
        self.logs = logs
        self.spans = spans
    }

    /// True when the batch carries nothing.
    public var isEmpty: Bool {
        samples.isEmpty && events.isEmpty && histograms.isEmpty && logs.isEmpty && spans.isEmpty
    }
}
