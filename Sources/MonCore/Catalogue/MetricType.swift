/// The Prometheus type of a metric family.
public enum MetricType: String, Sendable, CaseIterable {
    case counter
    case gauge
    case histogram
    case summary

    /// The suffixes a family of this type writes after its name in either exposition format
    /// (OpenMetrics counters: `_total`, `_created`).
    public var sampleSuffixes: [String] {
        switch self {
        case .counter: ["_total", "_created"]
        case .gauge: [""]
        case .histogram: ["_bucket", "_count", "_sum", "_created"]
        case .summary: ["", "_count", "_sum", "_created"]
        }
    }

    /// Label names the type writes itself (`le` for histograms, `quantile` for summaries).
    public var reservedLabel: String? {
        switch self {
        case .histogram: "le"
        case .summary: "quantile"
        default: nil
        }
    }
}
