import MonCore

/// The storage tier a chart reads: raw samples, 1-minute or 1-hour rollups.
public enum StorageTier: String, Sendable {
    case raw
    case minute = "1m"
    case hour = "1h"
}

/// Which tables serve a time range: the coarsest rollup whose unit divides the step, for the
/// part of the range the rollups have reached (`start ..< split`), and raw rows after it.
///
/// A 1-hour chart (1-minute step) reads minute rows up to the watermark and the last
/// seconds raw, so it is as fresh as raw. An hour-tier chart (steps of whole hours, e.g.
/// 7 or 30 days) reads no raw rows at all unless the rollups lag by more than `maxLagMs`.
public struct TierPlan: Sendable, Equatable {
    public var tier: StorageTier
    public var startMs: Int64
    /// Rollup rows before this instant, raw rows from it (`endMs` when no raw part).
    public var splitMs: Int64
    public var endMs: Int64
    public var readsRaw: Bool

    /// Longest rollup lag an hour-tier chart tolerates before it also reads raw rows.
    public static let maxLagMs: Int64 = 5 * 60_000

    public init(range: TimeRange, watermarkMs: Int64?) {
        startMs = range.startMs
        endMs = range.endMs
        let step = range.stepSeconds
        guard let watermarkMs, step >= 60, step % 60 == 0, watermarkMs > range.startMs else {
            tier = .raw
            splitMs = range.startMs
            readsRaw = true
            return
        }
        tier = step % 3600 == 0 ? .hour : .minute
        splitMs = min(watermarkMs, range.endMs)
        readsRaw = tier == .minute || range.endMs - splitMs > Self.maxLagMs
        if !readsRaw { splitMs = range.endMs }
    }

    private var start: String { String(startMs) }
    private var split: String { String(splitMs) }
    private var end: String { String(endMs) }

    private static func time(_ ms: String) -> String { "to_timestamp(\(ms)::double precision / 1000)" }

    /// `(series_id, ts, sum, count, last, last_ts)` rows of `seriesFilter`'s series in the range:
    /// one per rollup unit, one per raw sample. Bounds are integers written by this type.
    public func metricsSource(seriesFilter: String) -> String {
        var parts: [String] = []
        if tier != .raw, splitMs > startMs {
            parts.append(
                """
                SELECT r.series_id, r.ts, r.sum, r.count, r.last, r.last_ts
                FROM metrics_\(tier.rawValue) r
                WHERE r.series_id IN (\(seriesFilter))
                  AND r.ts >= \(Self.time(start)) AND r.ts < \(Self.time(split))
                """)
        }
        if readsRaw {
            let upper = "m.ts <= \(Self.time(end))"
            parts.append(
                """
                SELECT m.series_id, m.ts, m.value, 1::bigint, m.value, m.ts
                FROM metrics m
                WHERE m.series_id IN (\(seriesFilter))
                  AND m.ts >= \(Self.time(tier == .raw ? start : split)) AND \(upper)
                """)
        }
        return parts.joined(separator: "\nUNION ALL\n")
    }

    /// For `increaseQuery`: the growth inside the row `src` of `metricsSource` when it is a
    /// rollup unit (its `value` minus the unit's first raw sample `firstRaw`, read as `m`),
    /// NULL for raw rows and for units whose raw rows are gone (negative after a reset).
    func firstUnitIncrease(value: String, firstRaw: String) -> String {
        guard tier != .raw, splitMs > startMs else { return "NULL::double precision" }
        let unit = tier == .hour ? "1 hour" : "1 minute"
        return """
            CASE WHEN src.ts < \(Self.time(split)) THEN (
                SELECT \(value) - \(firstRaw) FROM metrics m
                WHERE m.series_id = src.series_id AND m.ts >= src.ts AND m.ts < src.ts + interval '\(unit)'
                ORDER BY m.ts LIMIT 1) END
            """
    }

    /// `(ts, series_id, count, sum, min, max, zero_count, idx, cnt)` histogram rows with `ts`
    /// (a window's or unit's end) in `(start, end]`.
    public func histogramSource(seriesFilter: String) -> String {
        let columns = "ts, series_id, count, sum, min, max, zero_count, idx, cnt"
        var parts: [String] = []
        if tier != .raw, splitMs > startMs {
            // Hour rows are stamped with the hour's end: without a raw part, the current
            // (partial) hour's row lies after `endMs` and is included.
            let upper = readsRaw ? splitMs : ClosedOpenRange.floor(splitMs + 3_599_999, 3_600_000)
            parts.append(
                """
                SELECT \(columns) FROM histograms_\(tier.rawValue)
                WHERE series_id IN (\(seriesFilter)) AND ts > \(Self.time(start)) AND ts <= \(Self.time(String(upper)))
                """)
        }
        if readsRaw {
            parts.append(
                """
                SELECT \(columns) FROM histograms
                WHERE series_id IN (\(seriesFilter))
                  AND ts > \(Self.time(tier == .raw ? start : split)) AND ts <= \(Self.time(end))
                """)
        }
        return parts.joined(separator: "\nUNION ALL\n")
    }
}
