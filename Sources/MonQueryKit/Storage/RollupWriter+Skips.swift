import MonCore

extension RollupWriter {
    /// Runs `work` over `range` of `tier`: at once, or — `isolated`, after repeated failures
    /// at the same watermark (`RollupFailures`) — one unit of the tier at a time, each in a
    /// savepoint. A unit that fails with an error about its data is rolled
    /// back to its savepoint, recorded in `rollup_skipped` and passed over; any other error
    /// ends the pass as before.
    static func rollUp(
        _ range: ClosedOpenRange, tier: StorageTier, isolated: Bool, _ connection: PostgresConnection,
        _ work: (ClosedOpenRange) throws -> Void
    ) throws -> [SkippedRollupRange] {
        guard isolated else {
            try work(range)
            return []
        }
        let unitMs = tier.unitMs
        var skipped: [SkippedRollupRange] = []
        var unitStart = range.startMs
        while unitStart < range.endMs {
            let unit = ClosedOpenRange(unitStart, min(unitStart + unitMs, range.endMs))
            unitStart = unit.endMs
            try connection.execute(rawSQL: "SAVEPOINT rollup_unit")
            do {
                try work(unit)
            } catch  where RollupFailures.isAboutTheData(error) {
                try connection.execute(rawSQL: "ROLLBACK TO SAVEPOINT rollup_unit")
                let skip = SkippedRollupRange(tier: tier.rawValue, range: unit, error: "\(error)")
                try connection.query(
                    """
                    INSERT INTO rollup_skipped (tier, lo, hi, attempts, error)
                    VALUES ($1, to_timestamp($2::double precision / 1000), to_timestamp($3::double precision / 1000),
                            $4, $5)
                    """,
                    [
                        tier.rawValue, String(unit.startMs), String(unit.endMs),
                        String(RollupFailures.attemptsBeforeSkipping + 1), skip.error,
                    ])
                skipped.append(skip)
            }
            try connection.execute(rawSQL: "RELEASE SAVEPOINT rollup_unit")
        }
        return skipped
    }
}
