/// The aggregate columns of a per-statement summary, written once for the hourly rollup
/// (`RollupWriter.rollUpStatements`) and the query that reads it (`QueryStore.slowStatements`):
/// `queryid, database, calls, total_ms, worst_mean_ms, max_ms, rows, hit, read`.
enum StatementColumns {
    /// From `events e` of kind `pg_statement` (its payload's numbers clamped, `SQLNumbers`).
    static let fromEvents = aliased([
        "max(e.payload->>'queryid')", "max(e.payload->>'database')",
        SQLNumbers.doubleSum(SQLNumbers.jsonDouble("e.payload", "calls")),
        SQLNumbers.doubleSum(SQLNumbers.jsonDouble("e.payload", "total_exec_ms")),
        "max(\(SQLNumbers.jsonDouble("e.payload", "mean_exec_ms")))",
        "max(\(SQLNumbers.jsonDouble("e.payload", "max_exec_ms_since_reset")))",
        SQLNumbers.doubleSum(SQLNumbers.jsonDouble("e.payload", "rows")),
        SQLNumbers.doubleSum(SQLNumbers.jsonDouble("e.payload", "shared_blks_hit")),
        SQLNumbers.doubleSum(SQLNumbers.jsonDouble("e.payload", "shared_blks_read")),
    ])

    /// From rows that already have those columns (hour rows, or `fromEvents` over raw events).
    static let fromSummaries = aliased([
        "max(queryid)", "max(database)", SQLNumbers.doubleSum("calls"), SQLNumbers.doubleSum("total_ms"),
        "max(worst_mean_ms)", "max(max_ms)", SQLNumbers.doubleSum("rows"), SQLNumbers.doubleSum("hit"),
        SQLNumbers.doubleSum("read"),
    ])

    static let columns = ["queryid", "database", "calls", "total_ms", "worst_mean_ms", "max_ms", "rows", "hit", "read"]

    /// `expressions` named after `columns`, comma-separated.
    private static func aliased(_ expressions: [String]) -> String {
        zip(expressions, columns).map { "\($0) AS \($1)" }.joined(separator: ", ")
    }

    static let names = columns.joined(separator: ", ")
}
