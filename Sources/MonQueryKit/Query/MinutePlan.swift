import MonCore

/// Which tables serve a step-less read of request histograms over a short range (the
/// summary's last 5 minutes, an alert rule's window, the anomaly monitor's current window):
/// the minute rollup for the whole minutes it has computed, raw 5-s windows for the rest.
///
/// Raw windows and minute rows are both stamped with their end, and a minute row holds the
/// raw windows with `ts` in `(end − 1 min, end]` (`RollupWriter.rollUpHistograms`). So, with
/// `a` the first minute boundary at or after the range's start and `b` the last one at or
/// before both the 1-minute watermark and the range's end, the range `(start, end]` reads:
/// - raw windows in `(start, a]` (the partial first minute);
/// - `histograms_1m` rows in `(a, b]` (whole minutes the rollup has computed);
/// - raw windows in `(b, end]` (what the rollup has not reached).
///
/// The answer is the all-raw answer: the same counts, buckets, minimum and maximum (and sums,
/// up to the order of floating-point additions), unlike `TierPlan`, whose first minute row
/// also holds the seconds before a start that is not on a minute. Without a watermark, or
/// with one before `a`, everything is raw. A late batch in a minute already rolled up is
/// counted once the rollup folds it in (its next pass), as on the charts.
///
/// Per-step charts keep `TierPlan` (their steps are whole minutes or hours; long ranges read
/// hour rows, which this plan never does).
public struct MinutePlan: Sendable, Equatable {
    public var startMs: Int64
    /// Minute rows for `ts` in `(minutesFromMs, minutesToMs]`; equal when none are read.
    public var minutesFromMs: Int64
    public var minutesToMs: Int64
    public var endMs: Int64

    static let minuteMs: Int64 = 60_000

    public init(range: TimeRange, watermarkMs: Int64?) {
        startMs = range.startMs
        endMs = range.endMs
        (minutesFromMs, minutesToMs) = (range.startMs, range.startMs)
        guard let watermarkMs else { return }
        let first = ClosedOpenRange.floor(range.startMs + Self.minuteMs - 1, Self.minuteMs)
        let last = ClosedOpenRange.floor(min(watermarkMs, range.endMs), Self.minuteMs)
        if first < last { (minutesFromMs, minutesToMs) = (first, last) }
    }

    /// Whether any minute rows are read.
    public var readsMinutes: Bool { minutesToMs > minutesFromMs }

    private static func time(_ ms: Int64) -> String { "to_timestamp(\(ms)::double precision / 1000)" }

    /// `(ts, series_id, count, sum, min, max, zero_count, idx, cnt)` histogram rows of
    /// `seriesFilter`'s series, as `TierPlan.histogramSource`. Bounds are integers written by
    /// this type.
    public func histogramSource(seriesFilter: String) -> String {
        let columns = "ts, series_id, count, sum, min, max, zero_count, idx, cnt"
        func rows(_ table: String, after lower: Int64, upTo upper: Int64) -> String {
            """
            SELECT \(columns) FROM \(table)
            WHERE series_id IN (\(seriesFilter)) AND ts > \(Self.time(lower)) AND ts <= \(Self.time(upper))
            """
        }
        guard readsMinutes else { return rows("histograms", after: startMs, upTo: endMs) }
        var parts: [String] = []
        if minutesFromMs > startMs { parts.append(rows("histograms", after: startMs, upTo: minutesFromMs)) }
        parts.append(rows("histograms_1m", after: minutesFromMs, upTo: minutesToMs))
        if endMs > minutesToMs { parts.append(rows("histograms", after: minutesToMs, upTo: endMs)) }
        return parts.joined(separator: "\nUNION ALL\n")
    }
}
