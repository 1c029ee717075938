/// How long each time-series table keeps its daily partitions (`retention.*`).
public struct RetentionPolicy: Sendable, Equatable {
    /// Days kept per partitioned table.
    public var days: [String: Int]
    /// Days of ingest-ledger rows kept (must cover the longest agent replay).
    public var ledgerDays: Int

    public init(days: [String: Int], ledgerDays: Int) {
        self.days = days
        self.ledgerDays = ledgerDays
    }

    /// Defaults of DESIGN §7: raw samples and histogram windows 7 days, 1-minute rollups 30,
    /// 1-hour rollups 400, logs 7, events 30.
    public static let defaults = RetentionPolicy(
        days: [
            "metrics": 7, "histograms": 7, "logs": 7, "events": 30, "metrics_1m": 30, "histograms_1m": 30,
            "metrics_1h": 400, "histograms_1h": 400,
        ], ledgerDays: 7)
}

/// One partition past its table's retention.
public struct ExpiredPartition: Sendable, Equatable {
    public var table: String
    public var partition: String
    public var day: DayPartition
    /// Planner estimate of its rows (`pg_class.reltuples`), for the dry-run report.
    public var estimatedRows: Int64
    public var bytes: Int64
    /// A raw partition whose day the rollups have not passed yet: kept until they have
    /// (dropping it would lose those minutes from every tier).
    public var waitingForRollup = false
}

extension IngestWriter {
    /// Partitions older than their table's retention (the day `retention` days before
    /// today and earlier), oldest first.
    public func expiredPartitions(policy: RetentionPolicy, nowMs: Int64) throws -> [ExpiredPartition] {
        let today = DayPartition(timestampMs: nowMs)
        return try connector.withConnection { connection -> [ExpiredPartition] in
            let watermark = try RollupWriter.watermarkMs(connection)
            var expired: [ExpiredPartition] = []
            for table in Schema.partitionedTables {
                guard let days = policy.days[table] else { continue }
                let keepFrom = today.adding(days: -Int64(days))
                let rows = try connection.query(
                    """
                    SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
                    FROM pg_inherits i
                    JOIN pg_class c ON c.oid = i.inhrelid
                    JOIN pg_class p ON p.oid = i.inhparent
                    WHERE p.relname = $1 AND p.relnamespace = current_schema()::regnamespace
                    ORDER BY c.relname
                    """,
                    [table]
                )
                for row in 0..<rows.rowCount {
                    guard let name = rows.string(row, 0), let day = DayPartition(partitionName: name, of: table),
                        day < keepFrom
                    else { continue }
                    let rolledUp = day.adding(days: 1).startMs <= (watermark ?? Int64.min)
                    expired.append(
                        ExpiredPartition(
                            table: table, partition: name, day: day, estimatedRows: rows.int(row, 1) ?? 0,
                            bytes: rows.int(row, 2) ?? 0,
                            waitingForRollup: ["metrics", "histograms"].contains(table) && !rolledUp))
                }
            }
            return expired.sorted { ($0.day, $0.table) < ($1.day, $1.table) }
        }
    }

    /// Detaches (concurrently on PostgreSQL ≥ 14, so writers are not blocked) and drops one
    /// expired partition. Whole partitions only: rows are never deleted one by one.
    public func drop(_ partition: ExpiredPartition) throws {
        try connector.withConnection { connection in
            let version = try connection.query("SHOW server_version_num").int(0, 0) ?? 0
            // DDL takes no bind parameters; the name was read from pg_class and matched
            // against <table>_pYYYYMMDD, so it is a plain identifier.
            let concurrently = version >= 140_000 ? " CONCURRENTLY" : ""
            try connection.execute(
                rawSQL: "ALTER TABLE \(partition.table) DETACH PARTITION \(partition.partition)\(concurrently)")
            try connection.execute(rawSQL: "DROP TABLE \(partition.partition)")
        }
        forgetPartition(partition.day)
    }

    /// Deletes ledger rows older than `days` (small rows, one per batch: a plain DELETE).
    @discardableResult
    public func trimLedger(days: Int) throws -> Int {
        try connector.withConnection { connection in
            try connection.query(
                "DELETE FROM ingest_ledger WHERE received_at < now() - make_interval(days => $1::int)",
                [String(days)]
            ).affectedRows
        }
    }
}

extension DayPartition {
    /// The day of a partition named `<table>_pYYYYMMDD`; nil for any other name.
    public init?(partitionName name: String, of table: String) {
        let prefix = table + "_p"
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard digits.count == 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), value > 0
        else { return nil }
        let year = value / 10_000
        let month = value / 100 % 100
        let day = value % 100
        guard (1...12).contains(month), (1...ISO8601.daysIn(month: month, year: year)).contains(day) else {
            return nil
        }
        self.init(day: Int64(ISO8601.daysFromCivil(year: year, month: month, day: day)))
    }
}
