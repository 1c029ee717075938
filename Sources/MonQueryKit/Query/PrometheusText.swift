import Foundation
import MonCore
import Synchronization

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
    /// The exposition so far, UTF-8.
    public private(set) var bytes: [UInt8] = []
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    /// Families by their samples' source name (the name in the cache or passed to `sample`).
    private var declared: Set<String> = []
    /// Every sample name a declared family may write → that family's source name.
    private var owners: [String: String] = [:]
    private var droppedFamilies: Set<String> = []
    /// The family the next samples belong to, by source name; `exposed` is the name written
    /// instead when the catalogue renames it (an application gauge `x_count` → `x_count_value`).
    private var current: (source: String, type: MetricType, dropped: Bool, exposed: String?) = (
        "", .gauge, false, nil
    )
    /// Series left out because their family collided with another family's names.
    public private(set) var droppedSeries = 0
    /// Family name → type, to name counter samples in OpenMetrics.
    private var counterFamilies: Set<String> = []
    /// `le` label values of `defaultBoundaries` in this format.
    private let defaultLe: [[UInt8]]

    /// `buffer`: memory to render into (its contents are dropped, its capacity kept), e.g.
    /// from a `RenderBuffer`.
    public init(format: Format = .text004, capacity: Int = 1 << 16, buffer: [UInt8] = []) {
        self.format = format
        bytes = buffer
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(capacity)
        defaultLe = Self.defaultBoundaries.map { Array(Self.leText($0, format: format).utf8) }
    }

    private mutating func append(_ string: String) { bytes.append(contentsOf: string.utf8) }

    /// The exposition, leaving this renderer empty (so the array is uniquely referenced and can
    /// go back to a `RenderBuffer` without a copy).
    public mutating func takeBytes() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    /// `# HELP`, `# TYPE` (and `# UNIT` in OpenMetrics) once per family, from the
    /// `MetricCatalogue` declaration of `name` (the sample name, `..._total` for counters).
    /// An undeclared name (an application metric) gets a generated help text; `type` is then
    /// used.
    public mutating func family(_ name: String, type: MetricType = .gauge) {
        declare(MetricCatalogue.describe(name, type: type), source: name)
    }

    /// The older spelling: `type` and `help` are used only for names the catalogue lacks.
    public mutating func family(_ name: String, type: String, help: String) {
        let kind = MetricType(rawValue: type) ?? .gauge
        declare(MetricCatalogue.descriptor(name) ?? MetricDescriptor(name, kind, help: help), source: name)
    }

    /// Declares a family unless it was declared already or any name it writes (in either format:
    /// `x`/`x_total`, `_bucket`/`_count`/`_sum`/`_created`) belongs to another family; then its
    /// samples are dropped and counted in `droppedSeries`. `source` is the name its samples
    /// arrive with; `descriptor.name` the one written (they differ for a renamed family).
    private mutating func declare(_ descriptor: MetricDescriptor, source: String) {
        let name = descriptor.name
        current = (source, descriptor.type, droppedFamilies.contains(source), name == source ? nil : name)
        guard declared.insert(source).inserted else { return }
        let occupied = descriptor.occupiedNames
        if occupied.contains(where: { owners[$0] != nil && owners[$0] != source }) {
            droppedFamilies.insert(source)
            current.dropped = true
            return
        }
        for taken in occupied { owners[taken] = source }
        let family = format == .openMetrics ? descriptor.family : name
        if format == .openMetrics, descriptor.type == .counter { counterFamilies.insert(source) }
        let help = descriptor.help
        let escaped =
            help.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") })
            ? help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n") : help
        append("# HELP \(family) \(escaped)\n")
        append("# TYPE \(family) \(descriptor.type.rawValue)\n")
        if format == .openMetrics, let unit = descriptor.unit, family.hasSuffix("_" + unit) {
            append("# UNIT \(family) \(unit)\n")
        }
    }

    /// Ends the exposition (`# EOF` in OpenMetrics).
    public mutating func finish() {
        if format == .openMetrics { append("# EOF\n") }
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        guard !current.dropped else {
            droppedSeries += 1
            return
        }
        write(name, labels, le: nil, value)
    }

    /// One sample line; `le` (a histogram bucket's bound) goes last, unrenamed.
    private mutating func write(_ name: String, _ labels: [(String, String)], le: String?, _ value: Double) {
        append(name == current.source ? current.exposed ?? name : name)
        if format == .openMetrics, counterFamilies.contains(name), !name.hasSuffix("_total") { append("_total") }
        if !labels.isEmpty || le != nil {
            bytes.append(UInt8(ascii: "{"))
            for (index, label) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(exposedLabelName(label.0))
                append("=\"")
                append(Labels.escape(label.1))
                bytes.append(UInt8(ascii: "\""))
            }
            if let le {
                append(labels.isEmpty ? "le=\"" : ",le=\"")
                append(le)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        appendValue(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// `format(value)` without a temporary string for the common case of a whole number.
    private mutating func appendValue(_ value: Double) {
        guard value == value.rounded(), abs(value) < 1e15 else {
            append(Self.format(value))
            return
        }
        var whole = Int64(value)
        if whole < 0 {
            bytes.append(UInt8(ascii: "-"))
            whole = -whole
        }
        var divisor: Int64 = 1
        while divisor <= whole / 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(whole / divisor))
            whole %= divisor
            divisor /= 10
        }
    }

    /// A series label `le` (only `histogram` writes the bucket bound) and `quantile` outside
    /// summaries become `exported_le`, `exported_quantile` (as Prometheus does on a clash).
    private func exposedLabelName(_ name: String) -> String {
        if name == "le" { return "exported_le" }
        if name == "quantile", current.type != .summary { return "exported_quantile" }
        return Self.labelName(name)
    }

    /// A cumulative histogram as `_bucket{le}`, `_sum`, `_count`.
    public mutating func histogram(
        _ name: String, _ labels: [(String, String)], _ histogram: Histogram,
        boundaries: [Double] = PrometheusText.defaultBoundaries
    ) {
        guard !current.dropped else {
            droppedSeries += 1
            return
        }
        let thresholds =
            boundaries == Self.defaultBoundaries ? Self.defaultThresholds : Histogram.indexThresholds(boundaries)
        let cumulative = histogram.cumulativeCounts(thresholds: thresholds)
        for (boundary, count) in zip(boundaries, cumulative) {
            write(name + "_bucket", labels, le: leText(boundary), Double(count))
        }
        write(name + "_bucket", labels, le: "+Inf", Double(histogram.count))
        write(name + "_sum", labels, le: nil, histogram.sum)
        write(name + "_count", labels, le: nil, Double(histogram.count))
    }

    /// `le` text: OpenMetrics wants canonical floats (`1.0`), the text format takes `1`.
    func leText(_ value: Double) -> String { Self.leText(value, format: format) }

    static func leText(_ value: Double, format: Format) -> String {
        let text = Self.format(value)
        return format == .openMetrics && !text.contains(".") && !text.contains("e") && value.isFinite
            ? text + ".0" : text
    }

    /// Go-compatible float text: `+Inf`, `-Inf`, `NaN`, integers without a fraction.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    /// Label names must match `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func labelName(_ name: String) -> String {
        var sanitized = MetricNames.sanitize(name)
        if sanitized.isEmpty || sanitized.first?.isNumber == true { sanitized = "_" + sanitized }
        return sanitized
    }
}

extension PrometheusText {
    /// One exposition buffer kept from one scrape to the next. Rendering 10 000 series into fresh
    /// memory pays a page fault for every 4 KiB of the 1 MB text: about a third of the render's
    /// time (perf, BENCHMARKS.md). Concurrent scrapes each get a buffer; the largest one returned
    /// is kept, up to `maxKeptBytes`.
    public final class RenderBuffer: Sendable {
        public let maxKeptBytes: Int
        private let spare = Mutex<[UInt8]>([])

        public init(maxKeptBytes: Int = 64 << 20) { self.maxKeptBytes = maxKeptBytes }

        /// The kept buffer (empty), or a new one when another scrape has it.
        public func take() -> [UInt8] {
            spare.withLock { spare in
                var taken: [UInt8] = []
                swap(&taken, &spare)
                return taken
            }
        }

        /// Keeps `buffer` for the next scrape if it is larger than the one kept.
        public func giveBack(_ buffer: [UInt8]) {
            guard buffer.capacity <= maxKeptBytes else { return }
            spare.withLock { spare in
                if buffer.capacity > spare.capacity { spare = buffer }
            }
        }

        /// Bytes held between scrapes.
        public var keptCapacity: Int { spare.withLock { $0.capacity } }
    }

    /// Every live entry of the cache: values with `host` and their labels, histograms as
    /// `_bucket`/`_sum`/`_count`. Families come out grouped (the snapshot is in name order).
    /// Each line is the series' precomputed name and label bytes plus the value.
    public mutating func render(cache snapshot: LastValueCache.Snapshot) {
        reserve(for: snapshot)
        var family: [UInt8] = []
        var total = false
        /// The family's name when the catalogue renames it (`x_count` gauge → `x_count_value`).
        var renamed: [UInt8]?
        for entry in snapshot.values {
            let series = entry.series
            if series.nameBytes != family {
                family = series.nameBytes
                let name = series.key.name
                declare(
                    MetricCatalogue.describe(name, type: entry.value.kind == .counter ? .counter : .gauge),
                    source: name)
                renamed = current.exposed.map { Array($0.utf8) }
                let exposed = current.exposed ?? name
                total = format == .openMetrics && counterFamilies.contains(name) && !exposed.hasSuffix("_total")
            }
            if current.dropped {
                droppedSeries += 1
                continue
            }
            if total || renamed != nil {
                bytes.append(contentsOf: renamed ?? series.nameBytes)
                if total { append("_total") }
                line(series.labelBytes, le: nil, value: entry.value.value)
            } else {
                bytes.append(contentsOf: series.linePrefix)
                appendValue(entry.value.value)
                bytes.append(UInt8(ascii: "\n"))
            }
        }
        for entry in snapshot.histograms {
            let series = entry.series
            if series.nameBytes != family {
                family = series.nameBytes
                declare(MetricCatalogue.describe(series.key.name, type: .histogram), source: series.key.name)
            }
            if current.dropped {
                droppedSeries += 1
                continue
            }
            let histogram = entry.value.histogram
            let cumulative = histogram.cumulativeCounts(thresholds: Self.defaultThresholds)
            for position in cumulative.indices {
                bytes.append(contentsOf: series.nameBytes)
                append("_bucket")
                line(series.labelBytes, le: defaultLe[position], value: Double(cumulative[position]))
            }
            bytes.append(contentsOf: series.nameBytes)
            append("_bucket")
            line(series.labelBytes, le: Self.infLe, value: Double(histogram.count))
            bytes.append(contentsOf: series.nameBytes)
            append("_sum")
            line(series.labelBytes, le: nil, value: histogram.sum)
            bytes.append(contentsOf: series.nameBytes)
            append("_count")
            line(series.labelBytes, le: nil, value: Double(histogram.count))
        }
    }

    /// `Histogram.indexThresholds` of `defaultBoundaries`, computed once.
    static let defaultThresholds = Histogram.indexThresholds(defaultBoundaries)
    static let infLe = Array("+Inf".utf8)

    /// Makes room for the whole snapshot at once:
    /// growing a 1 MB buffer by doubling costs more (copies, and page faults on each new
    /// block) than rendering into it.
    private mutating func reserve(for snapshot: LastValueCache.Snapshot) {
        // Estimated from the counts alone (walking every entry to sum its bytes cost 5 % of a
        // render); a kept buffer from an earlier scrape usually makes this a no-op, and a short
        // estimate only means one more doubling.
        var needed = bytes.count + 16 * 1024 + 128 * snapshot.values.count
        needed += (Self.defaultBoundaries.count + 3) * 160 * snapshot.histograms.count
        needed += needed / 16
        bytes.reserveCapacity(needed)
    }

    /// `{labels[,le="…"]} value\n` after a sample name.
    private mutating func line(_ labels: [UInt8], le: [UInt8]?, value: Double) {
        bytes.append(UInt8(ascii: "{"))
        bytes.append(contentsOf: labels)
        if let le {
            append(",le=\"")
            bytes.append(contentsOf: le)
            bytes.append(UInt8(ascii: "\""))
        }
        append("} ")
        appendValue(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// `host` first; series labels named `host`, `le` or `quantile` (which the daemon or the
    /// exposition writes itself) are renamed `exported_host`, `exported_le`, `exported_quantile`.
    public static func exposedLabels(_ key: LastValueCache.Key) -> [(String, String)] {
        [("host", key.host)]
            + key.labels.pairs.map {
                (["host", "le", "quantile"].contains($0.name) ? "exported_" + $0.name : $0.name, $0.value)
            }
    }
}
