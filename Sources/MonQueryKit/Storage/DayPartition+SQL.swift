import MonCore

extension DayPartition {
    /// `CREATE TABLE IF NOT EXISTS` this day's partition of `table`.
    ///
    /// Another daemon on the same database may create it at the same moment: IF NOT EXISTS does
    /// not cover that race, the loser fails with 42P07 (duplicate table) or 23505 (pg_type's
    /// unique index), and the partition exists either way.
    func createPartition(of table: String, _ connection: PostgresConnection) throws {
        do {
            // DDL takes no bind parameters; the name and bounds come from an integer day.
            try connection.execute(
                rawSQL: """
                    CREATE TABLE IF NOT EXISTS \(partitionName(of: table)) PARTITION OF \(table)
                    FOR VALUES FROM ('\(startLiteral)') TO ('\(adding(days: 1).startLiteral)')
                    """
            )
        } catch {
            // Typed: `error` is a PostgresError.
            guard error.sqlState == "42P07" || error.sqlState == "23505" else { throw error }
        }
    }
}
