import MonCore
import SwiftProtobuf

/// Stored rows to remote-write 1.0 requests: one `TimeSeries` per series with its samples in
/// time order, labels sorted by name (`__name__`, `host`, then the series' labels), the body
/// a snappy block.
///
/// Request histograms are stored as one log-bucketed histogram per window; they go out as
/// classic Prometheus histograms, counters that grow from the exporter's start:
/// `<name>_bucket{le}` on the fixed ladder `PrometheusText.defaultBoundaries` (1 ms … 60 s,
/// the ladder `/metrics` uses, plus `+Inf`), `<name>_sum`, `<name>_count`. A log bucket counts
/// towards the first `le` at or above its upper bound, so a quantile that
/// `histogram_quantile` interpolates is within the ladder's step of ours. The counters
/// restart at zero when monquery restarts (Prometheus' `rate` treats that as a reset).
public enum RemoteWriteEncoder {
    /// The `le` ladder of exported histograms (seconds), `+Inf` apart.
    public static let boundaries = PrometheusText.defaultBoundaries
    static let thresholds = PrometheusText.defaultThresholds
    static let leTexts = boundaries.map { PrometheusText.leText($0, format: .text004) } + ["+Inf"]

    /// A series' labels as sent: `__name__`, `host`, its own labels (names made valid, `le`
    /// and `__name__` renamed `exported_…`), sorted by name as the protocol requires.
    public static func labels(name: String, host: String, labels: [(String, String)]) -> [Prometheus_Label] {
        var out: [Prometheus_Label] = [label("__name__", name), label("host", host)]
        for (key, value) in labels {
            var sanitized = PrometheusText.labelName(key)
            if sanitized == "le" || sanitized == "host" || sanitized.hasPrefix("__") {
                sanitized = "exported_" + sanitized
            }
            out.append(label(sanitized, value))
        }
        out.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        // Two labels renamed to one name: the first is kept (Prometheus refuses duplicates).
        var unique: [Prometheus_Label] = []
        for item in out where unique.last?.name != item.name { unique.append(item) }
        return unique
    }

    static func label(_ name: String, _ value: String) -> Prometheus_Label {
        var label = Prometheus_Label()
        label.name = name
        label.value = value
        return label
    }

    /// `labels` with `__name__` replaced by `name` and an `le` label added where it sorts.
    static func derived(_ labels: [Prometheus_Label], name: String, le: String? = nil) -> [Prometheus_Label] {
        var out = labels
        if let index = out.firstIndex(where: { $0.name == "__name__" }) { out[index].value = name }
        if let le {
            let position = out.firstIndex { Array($0.name.utf8).lexicographicallyPrecedes(Array("le".utf8)) == false }
            out.insert(label("le", le), at: position ?? out.count)
        }
        return out
    }

    /// Running totals of one exported histogram series (cumulative bucket counts per `le`,
    /// `+Inf` last, sum, count).
    public struct HistogramTotals: Sendable, Equatable {
        public var buckets: [UInt64] = Array(repeating: 0, count: RemoteWriteEncoder.boundaries.count + 1)
        public var sum: Double = 0
        public var count: UInt64 = 0

        public init() {}

        /// Adds one stored window.
        public mutating func add(_ histogram: Histogram) {
            let cumulative = histogram.cumulativeCounts(thresholds: RemoteWriteEncoder.thresholds)
            for (slot, value) in cumulative.enumerated() { buckets[slot] &+= value }
            buckets[buckets.count - 1] &+= histogram.count
            sum += histogram.sum
            count &+= histogram.count
        }

        /// The series and values of this histogram at one time: `_bucket{le}` per rung, `_sum`, `_count`.
        public func series(name: String, labels: [Prometheus_Label]) -> [(labels: [Prometheus_Label], value: Double)] {
            var out: [(labels: [Prometheus_Label], value: Double)] = []
            for (slot, le) in RemoteWriteEncoder.leTexts.enumerated() {
                out.append((derived(labels, name: name + "_bucket", le: le), Double(buckets[slot])))
            }
            out.append((derived(labels, name: name + "_sum"), sum))
            out.append((derived(labels, name: name + "_count"), Double(count)))
            return out
        }
    }

    /// One series' samples on their way out (time order).
    public struct Series: Sendable {
        public var labels: [Prometheus_Label]
        public var samples: [Prometheus_Sample]
        /// The shard it goes through (a hash of its labels), so its samples stay in order.
        public var shardKey: UInt64

        public init(labels: [Prometheus_Label], samples: [Prometheus_Sample] = []) {
            self.labels = labels
            self.samples = samples
            var bytes: [UInt8] = []
            for label in labels {
                bytes.append(contentsOf: label.name.utf8)
                bytes.append(0)
                bytes.append(contentsOf: label.value.utf8)
                bytes.append(0)
            }
            shardKey = FNV1a.hash(bytes)
        }
    }

    static func sample(_ timestampMs: Int64, _ value: Double) -> Prometheus_Sample {
        var sample = Prometheus_Sample()
        sample.timestamp = timestampMs
        sample.value = value
        return sample
    }

    /// Splits `series` into requests of at most `maxSamples` samples each (a series with more
    /// is split across requests, its samples still in order), in the order given.
    public static func requests(_ series: [Series], maxSamples: Int) -> [Prometheus_WriteRequest] {
        var out: [Prometheus_WriteRequest] = []
        var current = Prometheus_WriteRequest()
        var count = 0
        for entry in series {
            var rest = entry.samples[...]
            while !rest.isEmpty {
                if count == maxSamples {
                    out.append(current)
                    current = Prometheus_WriteRequest()
                    count = 0
                }
                let take = min(maxSamples - count, rest.count)
                var part = Prometheus_TimeSeries()
                part.labels = entry.labels
                part.samples = Array(rest.prefix(take))
                rest = rest.dropFirst(take)
                current.timeseries.append(part)
                count += take
            }
        }
        if count > 0 { out.append(current) }
        return out
    }

    /// The request as sent: protobuf, then one snappy block. Nil if either step fails.
    public static func body(_ request: Prometheus_WriteRequest) -> [UInt8]? {
        guard let bytes: [UInt8] = try? request.serializedBytes() else { return nil }
        return Snappy.compress(bytes)
    }

    /// Samples in a request.
    public static func sampleCount(_ request: Prometheus_WriteRequest) -> Int {
        request.timeseries.reduce(0) { $0 + $1.samples.count }
    }
}
