/// What a series identity may look like: the Prometheus grammar and the size caps the daemon
/// enforces at ingest and the agent respects when it builds series (DESIGN §9).
///
/// Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`; label names `[a-zA-Z_][a-zA-Z0-9_]*` and do
/// not start with `__` (reserved by Prometheus); at most `maxLabels` labels; a label value is
/// at most `maxLabelValueBytes` of UTF-8 without NUL (PostgreSQL text cannot hold it); the
/// series key — the name and the canonical label text, escaped — at most `maxSeriesKeyBytes`,
/// so that `metric_series`' unique index always fits its row.
public enum SeriesLimits {
    public static let maxLabels = 32
    public static let maxLabelValueBytes = 1024
    public static let maxSeriesKeyBytes = 2048
    /// Histogram counts stay below `Histogram.maxCount` (2^50): a count that reached it has
    /// saturated, so the histogram no longer counts every observation.
    public static let maxHistogramCount: UInt64 = Histogram.maxCount

    /// The first rule a series breaks, or nil when it is a valid series.
    public static func problem(name: String, labels: Labels) -> IngestDrop? {
        guard isValidMetricName(name) else { return .metricName }
        guard labels.count <= maxLabels else { return .labels }
        var keyBytes = name.utf8.count
        for pair in labels.pairs {
            guard isValidLabelName(pair.name) else { return .labelName }
            let value = pair.value.utf8
            guard value.count <= maxLabelValueBytes else { return .labelValue }
            var escaped = 0
            for byte in value {
                switch byte {
                case 0: return .labelValue
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "\n"): escaped += 1
                default: continue
                }
            }
            // `name="value"` and a comma.
            keyBytes += pair.name.utf8.count + value.count + escaped + 4
        }
        return keyBytes <= maxSeriesKeyBytes ? nil : .seriesKey
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public static func isValidMetricName(_ name: String) -> Bool {
        isValidName(name, colon: true)
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
    public static func isValidLabelName(_ name: String) -> Bool {
        isValidName(name, colon: false) && !name.utf8.starts(with: [UInt8(ascii: "_"), UInt8(ascii: "_")])
    }

    private static func isValidName(_ name: String, colon: Bool) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || (colon && $0 == 58) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }
}
