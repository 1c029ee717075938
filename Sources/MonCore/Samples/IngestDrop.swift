/// Why the daemon left one sample, histogram, event or log record of a batch out (the rest of
/// the batch is stored); the `reason` label of `mon_query_ingest_dropped_total`.
public enum IngestDrop: String, Sendable, CaseIterable, Comparable {
    /// Metric name outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    case metricName = "metric_name"
    /// Label name outside `[a-zA-Z_][a-zA-Z0-9_]*`, or starting with `__`.
    case labelName = "label_name"
    /// Label value over 1 KiB, or holding a NUL.
    case labelValue = "label_value"
    /// More than 32 labels.
    case labels
    /// Name and canonical labels over 2 KiB.
    case seriesKey = "series_key"
    /// A histogram whose count saturated (reached 2^50), or whose counts, bounds or sum disagree.
    case histogram
    /// An event whose kind or key is too long or holds a NUL.
    case event
    /// A log record whose service, logger, trace id or source is too long, or whose text is
    /// too large to index.
    case log
    /// A span whose service or name is too long to index, or whose attributes, events or status
    /// message are too large.
    case span
    /// Timestamp outside the accepted range (older than raw retention, or a day ahead).
    case timeRange = "time_range"
    /// A new series of a host that has `ingest.max_series_per_host` series already.
    case hostSeriesCap = "series_cap_host"
    /// A new series while the daemon has `ingest.max_series` series already.
    case globalSeriesCap = "series_cap_global"

    public static func < (lhs: IngestDrop, rhs: IngestDrop) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Drops of one batch (or since start), by reason.
public struct IngestDrops: Sendable, Equatable {
    public private(set) var counts: [IngestDrop: Int] = [:]

    public init(_ counts: [IngestDrop: Int] = [:]) { self.counts = counts.filter { $0.value > 0 } }

    public mutating func add(_ reason: IngestDrop, _ count: Int = 1) {
        guard count > 0 else { return }
        counts[reason, default: 0] += count
    }

    public mutating func add(_ other: IngestDrops) {
        for (reason, count) in other.counts { add(reason, count) }
    }

    public var total: Int { counts.values.reduce(0, +) }
    public var isEmpty: Bool { counts.isEmpty }
    public subscript(reason: IngestDrop) -> Int { counts[reason] ?? 0 }
}
