import MonCore

extension DayPartition {
    /// `CREATE TABLE IF NOT EXISTS` this day's partition of `table`.
    func createPartition(of table: String, _ connection: PostgresConnection) throws {
        // DDL takes no bind parameters; the name and bounds come from an integer day.
        try connection.execute(
            rawSQL: """
                CREATE TABLE IF NOT EXISTS \(partitionName(of: table)) PARTITION OF \(table)
                FOR VALUES FROM ('\(startLiteral)') TO ('\(adding(days: 1).startLiteral)')
                """
        )
    }
}
