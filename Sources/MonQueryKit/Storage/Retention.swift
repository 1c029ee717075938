import MonCore

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
    /// 1-hour rollups 400 (and the 6-hour ones with them), logs 7, events 30 (and the hourly
    /// statement sums with them), spans as long as logs.
    public static let defaults = RetentionPolicy(
        days: [
            "metrics": 7, "histograms": 7, "logs": 7, "events": 30, "metrics_1m": 30, "histograms_1m": 30,
            "metrics_1h": 400, "histograms_1h": 400, "statements_1h": 30, "metrics_6h": 400, "histograms_6h": 400,
            "spans": 7,
        ], ledgerDays: 7)
}

/// One partition past its table's retention.
public struct ExpiredPartition: Sendable, Equatable {
    /// Where a partition stands: attached; left "detach pending" by a `DETACH … CONCURRENTLY`
    /// that was cancelled or whose session died (it then blocks every other concurrent detach
    /// of its table); or detached but not dropped (the daemon stopped in between).
    public enum State: String, Sendable, Equatable {
        case attached
        case detachPending = "detach pending"
        case detached
    }

    public var table: String
    public var partition: String
    public var day: DayPartition
    /// Planner estimate of its rows (`pg_class.reltuples`), for the dry-run report.
    public var estimatedRows: Int64
    public var bytes: Int64
    /// A raw partition whose day the rollups have not passed yet: kept until they have
    /// (dropping it would lose those minutes from every tier).
    public var waitingForRollup = false
    public var state = State.attached
}

extension IngestWriter {
    /// Partitions older than their table's retention (the day `retention` days before
    /// today and earlier): attached ones, those an interrupted `DETACH … CONCURRENTLY` left
    /// "detach pending", and tables named like a partition that were detached but not
    /// dropped. Oldest first, detach-pending ones before all others (while one is pending,
    /// PostgreSQL refuses every other concurrent detach of its table).
    public func expiredPartitions(policy: RetentionPolicy, nowMs: Int64) throws -> [ExpiredPartition] {
        let today = DayPartition(timestampMs: nowMs)
        return try connector.withConnection { connection -> [ExpiredPartition] in
            let watermark = try RollupWriter.watermarkMs(connection)
            // `pg_inherits.inhdetachpending` exists from PostgreSQL 14 (as DETACH CONCURRENTLY).
            let pending = connection.serverVersion >= 140_000 ? "coalesce(i.inhdetachpending, false)" : "false"
            var expired: [ExpiredPartition] = []
            for table in Schema.partitionedTables {
                guard let days = policy.days[table] else { continue }
                let keepFrom = today.adding(days: -Int64(days))
                let rows = try connection.query(
                    """
                    SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid),
                           \(pending), i.inhrelid IS NULL
                    FROM pg_class c
                    LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
                    LEFT JOIN pg_class p ON p.oid = i.inhparent
                    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
                      AND (p.relname = $1 OR (i.inhrelid IS NULL AND NOT c.relispartition
                                              AND starts_with(c.relname, $1 || '_p')))
                    ORDER BY c.relname
                    """,
                    [table]
                )
                for row in 0..<rows.rowCount {
                    guard let name = rows.string(row, 0), let day = DayPartition(partitionName: name, of: table),
                        day < keepFrom
                    else { continue }
                    let rolledUp = day.adding(days: 1).startMs <= (watermark ?? Int64.min)
                    let state: ExpiredPartition.State =
                        rows.string(row, 4) == "t" ? .detached : rows.string(row, 3) == "t" ? .detachPending : .attached
                    expired.append(
                        ExpiredPartition(
                            table: table, partition: name, day: day, estimatedRows: rows.int(row, 1) ?? 0,
                            bytes: rows.int(row, 2) ?? 0,
                            // A detached table is out of every query already: nothing left to wait for.
                            waitingForRollup: ["metrics", "histograms", "events"].contains(table) && !rolledUp
                                && state != .detached,
                            state: state))
                }
            }
            return expired.sorted {
                ($0.state == .detachPending ? 0 : 1, $0.day, $0.table) < (
                    $1.state == .detachPending ? 0 : 1, $1.day, $1.table
                )
            }
        }
    }

    /// Drops one expired partition, whole (rows are never deleted one by one): detached first
    /// (concurrently on PostgreSQL ≥ 14, so writers are not blocked), or — left "detach
    /// pending" by an interrupted detach — finalised (`DETACH PARTITION … FINALIZE`), or
    /// dropped at once when it is already detached.
    public func drop(_ partition: ExpiredPartition) throws {
        try connector.withConnection { connection in
            // DDL takes no bind parameters; the name was read from pg_class and matched
            // against <table>_pYYYYMMDD, so it is a plain identifier.
            switch partition.state {
            case .attached:
                let concurrently = connection.serverVersion >= 140_000 ? " CONCURRENTLY" : ""
                try connection.execute(
                    rawSQL: "ALTER TABLE \(partition.table) DETACH PARTITION \(partition.partition)\(concurrently)")
            case .detachPending:
                try connection.execute(
                    rawSQL: "ALTER TABLE \(partition.table) DETACH PARTITION \(partition.partition) FINALIZE")
            case .detached:
                break
            }
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
