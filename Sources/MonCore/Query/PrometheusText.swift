import Foundation

/// Prometheus exposition: text format 0.0.4, or OpenMetrics 1.0.0 (`# UNIT`, counter
/// families named without `_total`, `# EOF`). One `# HELP`/`# TYPE` per family; callers
/// emit each family's samples together (families grouped); no timestamps.
public struct PrometheusText {
    public enum Format: Sendable, Equatable {
        case text004
        case openMetrics

        public var contentType: String {
            switch self {
            case .text004: "text/plain; version=0.0.4; charset=utf-8"
            case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }

        /// OpenMetrics when the `Accept` header lists `application/openmetrics-text` with a
        /// higher (or equal, earlier) quality than the text format; the text format otherwise.
        public static func negotiate(accept: String?) -> Format {
            guard let accept else { return .text004 }
            var best: (format: Format, quality: Double)?
            for part in accept.split(separator: ",") {
                let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let media = fields.first?.lowercased() else { continue }
                var quality = 1.0
                var version: String?
                for field in fields.dropFirst() {
                    let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
                    guard pair.count == 2 else { continue }
                    if pair[0].lowercased() == "q" { quality = Double(pair[1]) ?? 0 }
                    if pair[0].lowercased() == "version" { version = pair[1] }
                }
                let format: Format?
                switch media {
                case "application/openmetrics-text":
                    format = version == nil || version?.hasPrefix("1.0") == true ? .openMetrics : nil
                case "text/plain", "text/*", "*/*": format = .text004
                default: format = nil
                }
                guard let format, quality > 0 else { continue }
                if best == nil || quality > best!.quality { best = (format, quality) }
            }
            return best?.format ?? .text004
        }
    }

    /// `le` boundaries (seconds) of exposed histograms; the log buckets are summed into them.
    public static let defaultBoundaries: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    public let format: Format
    public private(set) var text = ""
    private var declared: Set<String> = []
    /// Family name → type, to name counter samples in OpenMetrics.
    private var counterFamilies: Set<String> = []

    public init(format: Format = .text004) {
        self.format = format
        text.reserveCapacity(1 << 16)
    }

    /// `# HELP` and `# TYPE` (and `# UNIT` in OpenMetrics) once per family. `name` is the
    /// sample name (`..._total` for counters).
    public mutating func family(_ name: String, type: String, help: String) {
        guard declared.insert(name).inserted else { return }
        var family = name
        if format == .openMetrics, type == "counter" {
            if family.hasSuffix("_total") { family.removeLast(6) }
            counterFamilies.insert(name)
        }
        let escaped = help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        text += "# HELP \(family) \(escaped)\n"
        text += "# TYPE \(family) \(type)\n"
        if format == .openMetrics, let unit = Self.unit(of: family) { text += "# UNIT \(family) \(unit)\n" }
    }

    /// The base unit a family's name ends with (OpenMetrics `# UNIT` needs the suffix).
    static func unit(of family: String) -> String? {
        for unit in ["seconds", "bytes"] where family.hasSuffix("_" + unit) { return unit }
        return nil
    }

    /// Ends the exposition (`# EOF` in OpenMetrics).
    public mutating func finish() {
        if format == .openMetrics { text += "# EOF\n" }
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if format == .openMetrics, counterFamilies.contains(name), !name.hasSuffix("_total") { text += "_total" }
        if !labels.isEmpty {
            text += "{"
            for (index, label) in labels.enumerated() {
                if index > 0 { text += "," }
                text += Self.labelName(label.0)
                text += "=\""
                text += Labels.escape(label.1)
                text += "\""
            }
            text += "}"
        }
        text += " "
        text += Self.format(value)
        text += "\n"
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
            sample(name + "_bucket", labels + [("le", leText(boundary))], Double(cumulative))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    /// `le` text: OpenMetrics wants canonical floats (`1.0`), the text format takes `1`.
    func leText(_ value: Double) -> String {
        let text = Self.format(value)
        return format == .openMetrics && !text.contains(".") && !text.contains("e") && value.isFinite
            ? text + ".0" : text
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

extension PrometheusText {
    /// Every live entry of the cache: values with `host` and their labels, histograms as
    /// `_bucket`/`_sum`/`_count`. Families come out grouped (the snapshot is sorted by name).
    public mutating func render(
        cache snapshot: (
            values: [(LastValueCache.Key, LastValueCache.Value)],
            histograms: [(LastValueCache.Key, LastValueCache.Cumulative)]
        )
    ) {
        for (key, value) in snapshot.values {
            family(
                key.name, type: value.kind == .counter ? "counter" : "gauge",
                help: "Latest value received from monagent.")
            sample(key.name, Self.exposedLabels(key), value.value)
        }
        for (key, cumulative) in snapshot.histograms {
            family(key.name, type: "histogram", help: "Observations since monquery started, merged from agent windows.")
            histogram(key.name, Self.exposedLabels(key), cumulative.histogram)
        }
    }

    /// `host` first; a series label named `host` is renamed `exported_host`.
    public static func exposedLabels(_ key: LastValueCache.Key) -> [(String, String)] {
        [("host", key.host)] + key.labels.pairs.map { ($0.name == "host" ? "exported_host" : $0.name, $0.value) }
    }
}
