/// One metric family as declared once in the `MetricCatalogue`: the name its samples carry
/// (`…_total` for counters), type, base unit, help text and the label names of its series
/// (agent series also carry `host`, added by the daemon).
public struct MetricDescriptor: Sendable, Hashable {
    public let name: String
    public let type: MetricType
    /// Base unit, the last word of the family name (`seconds`, `bytes`, `ratio`), or nil.
    public let unit: String?
    public let help: String
    public let labels: [String]
    /// Where a collector reads the value as is, when the declaration alone says it; nil when
    /// the collector computes it.
    public let source: MetricSource?

    public init(
        _ name: String, _ type: MetricType, unit: String? = nil, labels: [String] = [], source: MetricSource? = nil,
        help: String
    ) {
        self.name = name
        self.type = type
        self.help = help
        self.labels = labels
        self.source = source
        self.unit = unit ?? Self.unit(ofFamily: Self.family(of: name, type: type))
    }

    /// The family name: the name without `_total` for counters (OpenMetrics names counter
    /// families without it).
    public var family: String { Self.family(of: name, type: type) }

    static func family(of name: String, type: MetricType) -> String {
        type == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
    }

    static func unit(ofFamily family: String) -> String? {
        for unit in ["seconds", "bytes", "ratio"] where family.hasSuffix("_" + unit) { return unit }
        return nil
    }

    /// The sample suffixes of histograms and summaries. A family of another type named with one
    /// (a StatsD gauge `queue_count`) reads as part of a histogram, and `promtool check metrics`
    /// reports it.
    public static let reservedSuffixes = ["_bucket", "_count", "_sum"]

    /// Whether this family's name ends in a suffix its type does not write (`reservedSuffixes`
    /// on a gauge or counter).
    public var hasReservedSuffix: Bool {
        ![.histogram, .summary].contains(type) && Self.reservedSuffixes.contains { name.hasSuffix($0) }
    }

    /// Every sample name this family can write in either format, e.g. `x_bucket`, `x_count`,
    /// `x_sum`, `x_created` for a histogram; `x` and `x_total` for a counter (the text format
    /// names it `x_total`, OpenMetrics names the family `x`).
    public var occupiedNames: [String] {
        let family = family
        var names = type.sampleSuffixes.map { family + $0 }
        if !names.contains(family) { names.append(family) }
        return names
    }

    static func counter(
        _ name: String, unit: String? = nil, labels: [String] = [], source: MetricSource? = nil, _ help: String
    ) -> Self {
        Self(name, .counter, unit: unit, labels: labels, source: source, help: help)
    }

    static func gauge(
        _ name: String, unit: String? = nil, labels: [String] = [], source: MetricSource? = nil, _ help: String
    ) -> Self {
        Self(name, .gauge, unit: unit, labels: labels, source: source, help: help)
    }

    static func histogram(_ name: String, unit: String? = nil, labels: [String] = [], _ help: String) -> Self {
        Self(name, .histogram, unit: unit, labels: labels, help: help)
    }

    static func summary(_ name: String, unit: String? = nil, labels: [String] = [], _ help: String) -> Self {
        Self(name, .summary, unit: unit, labels: labels, help: help)
    }
}

/// Where a declared metric's value is read verbatim, so a collector emits every declaration
/// of its source without a line of its own.
public enum MetricSource: Sendable, Hashable {
    /// A numeric field of Redis `INFO`: section (lowercase, as `# Clients` → `clients`) and key.
    case redisInfo(section: String, key: String)
}
