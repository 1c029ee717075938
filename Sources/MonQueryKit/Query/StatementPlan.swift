import MonCore

/// Where a statement query over a range reads: hour rows of `statements_1h` for
/// `[hoursFromMs, hoursToMs)`, raw `pg_statement` events for `[headFromMs, hoursFromMs)` and
/// `[hoursToMs, endMs]`.
///
/// The rollup keeps the hour that holds the 1-minute watermark summed up to the watermark
/// (`RollupWriter.rollUpStatements`), so hour rows serve up to the watermark and only the
/// last minute or so is read raw. Hour rows start at the first whole hour of the range, or
/// at the first hour the rollup holds (`statements_1h`'s row in `rollup_state`, set by the
/// first pass after the migration), whichever is later. For periods of a day or more the
/// range's partial first hour is left out (the answer counts whole hours from the first one
/// that starts inside the period, like the hour tier of the charts); shorter periods read it
/// raw. `hoursFromMs == hoursToMs` means raw only.
struct StatementPlan: Equatable {
    var headFromMs: Int64
    var hoursFromMs: Int64
    var hoursToMs: Int64

    static let hourMs: Int64 = 3_600_000
    /// From this period on, the partial first hour is left out.
    static let wholeHoursFromMs: Int64 = 86_400_000

    init(range: TimeRange, rolledFromMs: Int64?, watermarkMs: Int64?) {
        let firstWhole = ClosedOpenRange.floor(range.startMs + Self.hourMs - 1, Self.hourMs)
        (headFromMs, hoursFromMs, hoursToMs) = (range.startMs, range.startMs, range.startMs)
        guard let rolledFromMs, let watermarkMs else { return }
        let from = max(firstWhole, rolledFromMs)
        let to = watermarkMs <= range.endMs ? watermarkMs : ClosedOpenRange.floor(range.endMs, Self.hourMs)
        guard from < to else { return }
        (hoursFromMs, hoursToMs) = (from, to)
        if range.endMs - range.startMs >= Self.wholeHoursFromMs && rolledFromMs <= firstWhole {
            headFromMs = from
        }
    }

    /// Reads both watermarks. Run it in the query's snapshot (a `REPEATABLE READ`
    /// transaction): a rollup pass committing in between would count its minutes twice.
    init(range: TimeRange, _ connection: PostgresConnection) throws {
        let rows = try connection.query(
            """
            SELECT (extract(epoch FROM (SELECT watermark FROM rollup_state WHERE tier = 'statements_1h')) * 1000)::bigint,
                   (extract(epoch FROM (SELECT watermark FROM rollup_state WHERE tier = '1m')) * 1000)::bigint
            """)
        self.init(range: range, rolledFromMs: rows.int(0, 0), watermarkMs: rows.int(0, 1))
    }
}
