import MonCore

/// What the daemon accepts in the records of a batch besides series (`SeriesLimits`): sizes
/// that keep every row within PostgreSQL's limits (a B-tree index entry holds at most about
/// 2.7 KiB, a `tsvector` 1 MiB, `text` no NUL), so one record can never make the whole
/// batch fail. A record outside them is left out and counted; the rest of the batch is stored.
public enum IngestLimits {
    /// `events.kind` (indexed).
    public static let maxEventKindBytes = 128
    /// `events.key` (indexed with the kind).
    public static let maxEventKeyBytes = 1024
    /// A log record's `service`, `logger` and `trace_id` (the agent cuts them at 200 bytes).
    public static let maxLogFieldBytes = 1024
    /// A log record's `source` (indexed with the host and offset).
    public static let maxLogSourceBytes = 2048
    /// A log record's event text and fields together (indexed as a `tsvector`).
    public static let maxLogTextBytes = 512 * 1024

    /// Why an event is left out, or nil.
    public static func problem(_ event: Event) -> IngestDrop? {
        guard event.kind.utf8.count <= maxEventKindBytes, event.key.utf8.count <= maxEventKeyBytes,
            !event.kind.utf8.contains(0), !event.key.utf8.contains(0)
        else { return .event }
        return nil
    }

    /// Why a log record is left out, or nil.
    public static func problem(_ log: LogRecord) -> IngestDrop? {
        guard log.service.utf8.count <= maxLogFieldBytes, (log.logger?.utf8.count ?? 0) <= maxLogFieldBytes,
            (log.traceID?.utf8.count ?? 0) <= maxLogFieldBytes, log.source.utf8.count <= maxLogSourceBytes,
            log.event.utf8.count + log.fields.utf8.count <= maxLogTextBytes
        else { return .log }
        return nil
    }

    /// Why a histogram is left out, or nil: its count must stay below `Histogram.maxCount`
    /// (a saturated count no longer counts every observation).
    public static func problem(_ histogram: HistogramSample) -> IngestDrop? {
        histogram.histogram.count < SeriesLimits.maxHistogramCount ? nil : .histogram
    }

    /// A batch's creation time as the daemon uses it (ledger, lag): the agent's, unless it is
    /// negative or more than a day ahead of `nowMs` — then `nowMs` (arithmetic on an absurd
    /// value must never overflow).
    public static func plausibleCreatedMs(_ createdMs: Int64, nowMs: Int64) -> Int64 {
        createdMs >= 0 && createdMs <= nowMs + DayPartition.millisecondsPerDay ? createdMs : nowMs
    }
}
