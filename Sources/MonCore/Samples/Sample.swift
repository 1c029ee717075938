/// Whether a sample is a point-in-time value or a monotonically increasing total.
public enum MetricKind: UInt8, Sendable, Codable, Hashable {
    /// A value that can go up and down (memory used, connections).
    case gauge = 0
    /// A cumulative total shipped as-is; rates are derived and survive resets.
    case counter = 1

    /// The name stored in `metric_series.kind`.
    public var name: String {
        switch self {
        case .gauge: return "gauge"
        case .counter: return "counter"
        }
    }
}

/// One measured value of one series at one instant.
///
/// The host is not part of a sample: the daemon takes it from the agent's handshake.
public struct Sample: Sendable, Hashable {
    /// Metric name, `mon_<source>_<name>_<unit>`.
    public var name: String
    /// Bounded label set (never query text or key names).
    public var labels: Labels
    /// Milliseconds since the Unix epoch.
    public var timestampMs: Int64
    public var value: Double
    public var kind: MetricKind

    public init(
        _ name: String,
        _ labels: Labels = Labels(),
        value: Double,
        kind: MetricKind = .gauge,
        timestampMs: Int64
    ) {
        self.name = name
        self.labels = labels
        self.value = value
        self.kind = kind
        self.timestampMs = timestampMs
    }
}
