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

/// Prometheus text exposition format 0.0.4.
public struct PrometheusText {
    /// `le` boundaries (seconds) of exposed histograms; the log buckets are summed into them.
    public static let defaultBoundaries: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    public private(set) var text = ""
    private var declared: Set<String> = []

    public init() {}

    /// `# HELP` and `# TYPE` once per family.
    public mutating func family(_ name: String, type: String, help: String) {
        guard declared.insert(name).inserted else { return }
        text +=
            "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
        text += "# TYPE \(name) \(type)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, label) in labels.enumerated() {
                if index > 0 { text += "," }
                text += Self.labelName(label.0) + "=\"" + Labels.escape(label.1) + "\""
            }
            text += "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// A cumulative histogram as `_bucket{le}`, `_sum`, `_count`.
    public mutating func histogram(
        _ name: String, _ labels: [(String, String)], _ histogram: Histogram,
        boundaries: [Double] = PrometheusText.defaultBoundaries
    ) {
        let sorted = histogram.sortedBuckets
        var index = 0
        var cumulative = histogram.zeroCount
        for boundary in boundaries {
            while index < sorted.count, Histogram.upperBound(ofIndex: sorted[index].index) <= boundary {
                cumulative += sorted[index].count
                index += 1
            }
            sample(name + "_bucket", labels + [("le", Self.format(boundary))], Double(cumulative))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    /// Go-compatible float text: `+Inf`, `-Inf`, `NaN`, integers without a fraction.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label names must match `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func labelName(_ name: String) -> String {
        var sanitized = MetricNames.sanitize(name)
        if sanitized.isEmpty || sanitized.first?.isNumber == true { sanitized = "_" + sanitized }
        return sanitized
    }
}
