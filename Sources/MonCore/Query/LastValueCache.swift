import Synchronization

/// What one committed batch brought, handed to the daemon's in-memory consumers
/// (the last-value cache behind `/metrics`, the live log stream).
public struct CommittedBatch: Sendable {
    public var host: String
    public var samples: [Sample]
    public var histograms: [HistogramSample]
    public var logs: [StoredLog]
}

/// The latest value of every series, and a running histogram per histogram series, fed
/// by the ingest writer after each commit. `/metrics` renders from here: a scrape never
/// queries the database. Series silent for `staleAfterMs` are left out and forgotten.
public final class LastValueCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var host: String
        public var name: String
        public var labels: Labels
    }

    public struct Value: Sendable {
        public var kind: MetricKind
        public var value: Double
        public var timestampMs: Int64
    }

    public struct Cumulative: Sendable {
        /// Every window merged since the daemon started (a Prometheus histogram is cumulative).
        public var histogram: Histogram
        public var timestampMs: Int64
    }

    struct State {
        var values: [Key: Value] = [:]
        var histograms: [Key: Cumulative] = [:]
    }

    public let staleAfterMs: Int64
    private let state = Mutex(State())

    public init(staleAfterMs: Int64 = 5 * 60 * 1000) {
        self.staleAfterMs = staleAfterMs
    }

    public func record(_ batch: CommittedBatch) {
        state.withLock { state in
            for sample in batch.samples {
                let key = Key(host: batch.host, name: sample.name, labels: sample.labels)
                if let existing = state.values[key], existing.timestampMs > sample.timestampMs { continue }
                state.values[key] = Value(kind: sample.kind, value: sample.value, timestampMs: sample.timestampMs)
            }
            for sample in batch.histograms {
                let key = Key(host: batch.host, name: sample.name, labels: sample.labels)
                var cumulative = state.histograms[key] ?? Cumulative(histogram: Histogram(), timestampMs: 0)
                cumulative.histogram.merge(sample.histogram)
                cumulative.timestampMs = max(cumulative.timestampMs, sample.timestampMs)
                state.histograms[key] = cumulative
            }
        }
    }

    /// Current entries (sorted by name, then host and labels); stale ones are dropped.
    public func snapshot(nowMs: Int64) -> (values: [(Key, Value)], histograms: [(Key, Cumulative)]) {
        state.withLock { state in
            let oldest = nowMs - staleAfterMs
            state.values = state.values.filter { $0.value.timestampMs >= oldest }
            state.histograms = state.histograms.filter { $0.value.timestampMs >= oldest }
            func order(_ a: Key, _ b: Key) -> Bool {
                (a.name, a.host, a.labels.canonicalKey) < (b.name, b.host, b.labels.canonicalKey)
            }
            return (
                state.values.sorted { order($0.key, $1.key) }.map { ($0.key, $0.value) },
                state.histograms.sorted { order($0.key, $1.key) }.map { ($0.key, $0.value) }
            )
        }
    }

    public var count: Int { state.withLock { $0.values.count + $0.histograms.count } }
}
