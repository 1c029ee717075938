import MonCore

/// Which tables serve a time range: the coarsest rollup whose unit divides the step, for the
/// part of the range the rollups have reached (`start ..< split`), and raw rows after it.
///
/// A 1-hour chart (1-minute step) reads minute rows up to the watermark and the last
/// seconds raw, so it is as fresh as raw. An hour-tier chart (steps of whole hours, e.g.
/// 24 hours) reads no raw rows at all unless the rollups lag by more than `maxLagMs`. A
/// 6-hour-tier chart (7 or 30 days) reads hour rows up to the first 6-hour boundary of the
/// range (its first bucket is partial) and 6-hour rows after it: the same figures as the
/// hour tier, from a sixth of the rows.
///
/// A rollup row of the unit holding the watermark covers that unit up to the watermark
/// (the rollup keeps it current every pass), so the rollup part ends at the watermark and the
/// raw part starts there.
public struct TierPlan: Sendable, Equatable {
    public var tier: StorageTier
    public var startMs: Int64
    /// Rollup rows before this instant, raw rows from it (`endMs` when no raw part).
    public var splitMs: Int64
    public var endMs: Int64
    public var readsRaw: Bool
    /// The finer tier that reads the range's first partial unit of `tier` (hour rows before
    /// the first 6-hour boundary; minute rows before the first hour of an aggregate plan).
    public private(set) var headTier: StorageTier?
    /// The finer tier that reads the range's last partial unit of `tier` when the rollups have
    /// passed the range's end (an absolute range in the past): that unit's row would count
    /// what came after the end.
    public private(set) var tailTier: StorageTier?

    /// Longest rollup lag an hour-tier chart tolerates before it also reads raw rows.
    public static let maxLagMs: Int64 = 5 * 60_000

    /// `coarsest` caps the tier (to compare a tier's answer with a finer one's).
    public init(range: TimeRange, watermarkMs: Int64?, coarsest: StorageTier = .sixHours) {
        startMs = range.startMs
        endMs = range.endMs
        let step = range.stepSeconds
        let serving = StorageTier.serving(stepSeconds: step, coarsest: coarsest)
        guard let watermarkMs, serving != .raw, watermarkMs > range.startMs else {
            tier = .raw
            splitMs = range.startMs
            readsRaw = true
            return
        }
        tier = serving
        headTier = tier == .sixHours ? .hour : nil
        splitMs = min(watermarkMs, range.endMs)
        readsRaw = tier == .minute || range.endMs - splitMs > Self.maxLagMs
        if !readsRaw { splitMs = range.endMs }
    }

    /// For one figure over the whole range (a counter's increase), whatever the step: minute
    /// rows up to the range's first whole hour, hour rows up to the watermark, raw rows after
    /// it (as fresh as the minute tier). A 6-hour window reads about 65 rows per series
    /// instead of 360. A counter reset inside an hour loses what the counter grew in that hour
    /// before it (the hour tier's own limit).
    public init(aggregating range: TimeRange, watermarkMs: Int64?) {
        startMs = range.startMs
        endMs = range.endMs
        guard let watermarkMs, watermarkMs > range.startMs else {
            tier = .raw
            splitMs = range.startMs
            readsRaw = true
            return
        }
        tier = .hour
        headTier = .minute
        splitMs = min(watermarkMs, range.endMs)
        if watermarkMs > range.endMs { tailTier = .minute }
        readsRaw = true
    }

    private static func time(_ ms: Int64) -> String { "to_timestamp(\(ms)::double precision / 1000)" }

    private static func ceiling(_ ms: Int64, _ unit: Int64) -> Int64 { ClosedOpenRange.floor(ms + unit - 1, unit) }

    /// The rollup rows' part of the range: `(tier, from, to)` pieces in order. With a
    /// `headTier`, that tier's rows come first, up to the range's first boundary of `tier`.
    private var rollupPieces: [(tier: StorageTier, fromMs: Int64, toMs: Int64)] {
        guard tier != .raw, splitMs > startMs else { return [] }
        guard let headTier else { return [(tier, startMs, splitMs)] }
        let boundary = min(Self.ceiling(startMs, tier.unitMs), splitMs)
        // With a tail tier, the last whole unit of `tier` ends at the unit boundary before the split.
        let tailFrom = tailTier == nil ? splitMs : max(boundary, ClosedOpenRange.floor(splitMs, tier.unitMs))
        var pieces: [(tier: StorageTier, fromMs: Int64, toMs: Int64)] = []
        if boundary > startMs { pieces.append((headTier, startMs, boundary)) }
        if tailFrom > boundary { pieces.append((tier, boundary, tailFrom)) }
        if let tailTier, splitMs > tailFrom { pieces.append((tailTier, tailFrom, splitMs)) }
        return pieces
    }

    /// `(series_id, ts, sum, count, last, last_ts)` rows of `seriesFilter`'s series in the range:
    /// one per rollup unit, one per raw sample. Bounds are integers written by this type.
    public func metricsSource(seriesFilter: String) -> String {
        var parts = rollupPieces.map { piece in
            """
            SELECT r.series_id, r.ts, r.sum, r.count, r.last, r.last_ts
            FROM \(piece.tier.table("metrics")) r
            WHERE r.series_id IN (\(seriesFilter))
              AND r.ts >= \(Self.time(piece.fromMs)) AND r.ts < \(Self.time(piece.toMs))
            """
        }
        if readsRaw {
            parts.append(
                """
                SELECT m.series_id, m.ts, m.value, 1::bigint, m.value, m.ts
                FROM metrics m
                WHERE m.series_id IN (\(seriesFilter))
                  AND m.ts >= \(Self.time(tier == .raw ? startMs : splitMs)) AND m.ts <= \(Self.time(endMs))
                """)
        }
        return parts.joined(separator: "\nUNION ALL\n")
    }

    /// For `increaseQuery`: the growth inside the row `src` of `metricsSource` when it is a
    /// rollup unit (its `value` minus the unit's first raw sample `firstRaw`, read as `m`),
    /// NULL for raw rows and for units whose raw rows are gone (negative after a reset).
    func firstUnitIncrease(value: String, firstRaw: String) -> String {
        let pieces = rollupPieces
        guard let last = pieces.last else { return "NULL::double precision" }
        // Pieces are contiguous: a row before a piece's end is a unit of that piece's tier.
        let unit =
            pieces.count == 1
            ? "interval '\(last.tier.interval)'"
            : "CASE "
                + pieces.dropLast().map { "WHEN src.ts < \(Self.time($0.toMs)) THEN interval '\($0.tier.interval)' " }
                .joined() + "ELSE interval '\(last.tier.interval)' END"
        return """
            CASE WHEN src.ts < \(Self.time(splitMs)) THEN (
                SELECT \(value) - \(firstRaw) FROM metrics m
                WHERE m.series_id = src.series_id AND m.ts >= src.ts AND m.ts < src.ts + \(unit)
                ORDER BY m.ts LIMIT 1) END
            """
    }

    /// `(ts, series_id, count, sum, min, max, zero_count, idx, cnt)` histogram rows with `ts`
    /// (a window's or unit's end) in `(start, end]`.
    public func histogramSource(seriesFilter: String) -> String {
        let columns = "ts, series_id, count, sum, min, max, zero_count, idx, cnt"
        let pieces = rollupPieces
        var parts: [String] = []
        for (index, piece) in pieces.enumerated() {
            // Rows are stamped with their unit's end: the unit holding the split (the
            // watermark, or the end of the range) is read up to the end of that unit; its row
            // covers the range up to the watermark.
            let upper = index == pieces.count - 1 ? Self.ceiling(piece.toMs, piece.tier.unitMs) : piece.toMs
            parts.append(
                """
                SELECT \(columns) FROM \(piece.tier.table("histograms"))
                WHERE series_id IN (\(seriesFilter)) AND ts > \(Self.time(piece.fromMs)) AND ts <= \(Self.time(upper))
                """)
        }
        if readsRaw {
            parts.append(
                """
                SELECT \(columns) FROM histograms
                WHERE series_id IN (\(seriesFilter))
                  AND ts > \(Self.time(tier == .raw ? startMs : splitMs)) AND ts <= \(Self.time(endMs))
                """)
        }
        return parts.joined(separator: "\nUNION ALL\n")
    }
}
