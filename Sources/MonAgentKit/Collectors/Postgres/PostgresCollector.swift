import Logging
import MonCore

/// Samples a PostgreSQL server: activity and database counters every cycle,
/// `pg_stat_statements` deltas and plans every `statementsInterval`, tables and
/// indexes every `tablesInterval`.
///
/// One connection (`application_name=monagent`, statement timeout), on its own thread.
/// Never takes locks beyond what reading statistics views needs. When the server is
/// away it reports `mon_postgres_up 0`, logs one error per backoff step and retries.
public actor PostgresCollector: RemoteCollector {
    public typealias Output = SourceOutput

    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let config: PostgresSourceConfig
    let connector: PostgresConnector
    let logger: Logger
    var rates = CounterRates()
    var deltas = StatementDeltas()
    var window = SlowStatementWindow()
    var texts = StatementTextCache(
        capacity: PostgresCollector.maxTexts, maxTextBytes: PostgresCollector.maxTextBytes,
        maxTotalBytes: PostgresCollector.maxTextCacheBytes)
    /// Names of the databases by oid, from the last `pg_stat_statements` reading.
    var databaseNames: [Int64: String] = [:]
    /// `pg_stat_statements` rows without a key (NULL dbid, userid or queryid): skipped.
    var statementRowsSkipped = 0
    var warnedNullTexts = false
    var eventWriter = StatementEventWriter()
    var plannedAt: [StatementKey: Int64] = [:]
    var statementTotals = (calls: 0.0, seconds: 0.0, slowCalls: 0.0)
    var statementsAvailable: Bool?
    var lastStatementsMs: Int64 = 0
    var lastTablesMs: Int64 = 0
    var databaseOID: Int64 = 0
    /// Owner of the monitored database: the application's role, whose statements are planned
    /// unless `postgres.explain_roles` says otherwise.
    var databaseOwner = ""
    /// Role names by oid, as of the last `pg_stat_statements` reading.
    var userNames: [Int64: String] = [:]
    /// Role names by oid, from every `pg_stat_statements` reading so far (a dropped role keeps its name).
    var roleNames: [Int64: String] = [:]
    var warnedSuperuser = false
    var serverVersion = 0
    /// Blocker/waiter pairs left out of `pg_locks` events so far (`BlockingReport.maxEdges`).
    var blockingEdgesDropped = 0.0
    private var backoff = Backoff(initial: 1, maximum: 60)
    private var nextAttemptMs: Int64 = 0
    private var wasUp = true

    public init(config: PostgresSourceConfig, logger: Logger) {
        executor = ThreadExecutor(name: "pg-collector")
        self.config = config
        self.logger = logger
        connector = PostgresConnector(
            url: config.url,
            applicationName: "monagent",
            password: config.password,
            statementTimeoutMs: config.statementTimeoutMs
        )
    }

    /// One cycle. Never throws: failures become `mon_postgres_up 0` and a log line.
    public func collect(timestampMs: Int64) -> Output {
        var output = Output()
        guard timestampMs >= nextAttemptMs else {
            output.samples.append(Sample("mon_postgres_up", value: 0, timestampMs: timestampMs))
            return output
        }
        do {
            try collectActivity(into: &output, at: timestampMs)
            if Double(timestampMs - lastStatementsMs) >= config.statementsInterval * 1000 - 1 {
                lastStatementsMs = timestampMs
                try collectStatements(into: &output, at: timestampMs)
            }
            if Double(timestampMs - lastTablesMs) >= config.tablesInterval * 1000 - 1 {
                lastTablesMs = timestampMs
                try collectTables(into: &output, at: timestampMs)
            }
            output.samples.append(Sample("mon_postgres_up", value: 1, timestampMs: timestampMs))
            if !wasUp { logger.info("PostgreSQL is reachable again", metadata: ["url": "\(redactedURL)"]) }
            wasUp = true
            backoff.reset()
        } catch {
            let delay = backoff.next()
            nextAttemptMs = timestampMs + Int64(delay * 1000)
            wasUp = false
            connector.close()
            logger.error(
                "PostgreSQL collection failed, retrying",
                metadata: [
                    "url": "\(redactedURL)", "error": "\(error)",
                    "retry_in_seconds": "\((delay * 10).rounded() / 10)",
                ]
            )
            output.samples.removeAll { $0.name.hasPrefix("mon_postgres_") }
            output.samples.append(Sample("mon_postgres_up", value: 0, timestampMs: timestampMs))
        }
        rates.endCycle()
        return output
    }

    var redactedURL: String { SecretRedaction.redactURL(config.url) }

    /// Server settings (part 0), connections by database and state (part 1) and database
    /// counters (part 2), in one round trip: every value as the text libpq would return for
    /// it in a query of its own, after the part number.
    static let activityQuery = """
        SELECT 0, current_setting('max_connections'), current_setting('server_version_num'),
               extract(epoch FROM now() - pg_postmaster_start_time())::text, current_setting('server_version'),
               (SELECT oid FROM pg_database WHERE datname = current_database())::text,
               (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())::text,
               current_setting('is_superuser'), NULL
        UNION ALL
        SELECT 1, coalesce(datname, ''), coalesce(state, 'unknown'),
               (count(*) FILTER (WHERE wait_event_type = 'Lock'))::text, count(*)::text,
               coalesce(max(extract(epoch FROM now() - query_start)) FILTER (WHERE state = 'active'), 0)::text,
               coalesce(max(extract(epoch FROM now() - xact_start)), 0)::text,
               coalesce(max(extract(epoch FROM now() - state_change)) FILTER (WHERE wait_event_type = 'Lock'), 0)::text,
               coalesce(max(extract(epoch FROM now() - state_change))
                        FILTER (WHERE state LIKE 'idle in transaction%'), 0)::text
        FROM pg_stat_activity
        WHERE backend_type = 'client backend'
        GROUP BY 2, 3
        UNION ALL
        SELECT 2, datname, xact_commit::text, xact_rollback::text, blks_hit::text, blks_read::text, deadlocks::text,
               temp_bytes::text, conflicts::text
        FROM pg_stat_database
        WHERE datname IS NOT NULL AND datname NOT IN ('template0', 'template1')
        """

    /// Connections by database and state, server settings, database counters.
    private func collectActivity(into output: inout Output, at ms: Int64) throws {
        try connector.withConnection { connection in
            let rows = try connection.query(Self.activityQuery)
            var settings = rows.rowCount  // none: every setting reads as absent
            var activity: [Int] = []
            var databases: [Int] = []
            for row in 0..<rows.rowCount {
                switch rows.int(row, 0) {
                case 0: settings = row
                case 1: activity.append(row)
                default: databases.append(row)
                }
            }
            let maxConnections = rows.double(settings, 1) ?? 0
            serverVersion = Int(rows.int(settings, 2) ?? 0)
            databaseOID = rows.int(settings, 5) ?? 0
            databaseOwner = rows.string(settings, 6) ?? ""
            if rows.string(settings, 7) == "on", !warnedSuperuser {
                warnedSuperuser = true
                logger.warning(
                    "monagent connects to PostgreSQL as a superuser; use a role with pg_monitor only (deploy/postgres/monagent-role.sql)",
                    metadata: ["url": "\(redactedURL)"])
            }
            output.samples.append(Sample("mon_postgres_max_connections", value: maxConnections, timestampMs: ms))
            output.samples.append(
                Sample("mon_postgres_uptime_seconds", value: rows.double(settings, 3) ?? 0, timestampMs: ms)
            )
            output.samples.append(
                Sample(
                    "mon_postgres_info", ["version": rows.string(settings, 4) ?? "unknown"], value: 1, timestampMs: ms)
            )

            var byDatabase: [String: [String: Double]] = [:]
            var waiting: [String: Double] = [:]
            var total = 0.0
            var longestQuery = 0.0
            var longestTransaction = 0.0
            var longestLockWait = 0.0
            var longestIdleInTransaction = 0.0
            for row in activity {
                let database = rows.string(row, 1) ?? ""
                let state = Self.stateLabel(rows.string(row, 2) ?? "unknown")
                let count = rows.double(row, 4) ?? 0
                byDatabase[database, default: [:]][state, default: 0] += count
                waiting[database, default: 0] += rows.double(row, 3) ?? 0
                total += count
                longestQuery = max(longestQuery, rows.double(row, 5) ?? 0)
                longestTransaction = max(longestTransaction, rows.double(row, 6) ?? 0)
                longestLockWait = max(longestLockWait, rows.double(row, 7) ?? 0)
                longestIdleInTransaction = max(longestIdleInTransaction, rows.double(row, 8) ?? 0)
            }
            for (database, states) in byDatabase {
                for state in Self.states {
                    output.samples.append(
                        Sample(
                            "mon_postgres_connections",
                            ["database": database, "state": state],
                            value: states[state] ?? 0,
                            timestampMs: ms
                        )
                    )
                }
                output.samples.append(
                    Sample(
                        "mon_postgres_connections_waiting",
                        ["database": database],
                        value: waiting[database] ?? 0,
                        timestampMs: ms
                    )
                )
            }
            output.samples.append(Sample("mon_postgres_connections_used", value: total, timestampMs: ms))
            if maxConnections > 0 {
                output.samples.append(
                    Sample("mon_postgres_connections_used_ratio", value: total / maxConnections, timestampMs: ms)
                )
            }
            output.samples.append(Sample("mon_postgres_longest_query_seconds", value: longestQuery, timestampMs: ms))
            output.samples.append(
                Sample("mon_postgres_longest_transaction_seconds", value: longestTransaction, timestampMs: ms)
            )
            output.samples.append(
                Sample("mon_postgres_lock_wait_longest_seconds", value: longestLockWait, timestampMs: ms))
            output.samples.append(
                Sample(
                    "mon_postgres_idle_in_transaction_longest_seconds", value: longestIdleInTransaction,
                    timestampMs: ms))
            if waiting.values.contains(where: { $0 > 0 }) {
                try collectBlocking(connection, into: &output, at: ms)
            }
            output.samples.append(
                Sample(
                    "mon_postgres_blocking_edges_dropped_total", value: blockingEdgesDropped, kind: .counter,
                    timestampMs: ms))
            collectDatabases(rows, databases, into: &output, at: ms)
        }
    }

    private func collectDatabases(_ stats: PostgresResult, _ rows: [Int], into output: inout Output, at ms: Int64) {
        let counters = [
            "mon_postgres_xact_commit_total", "mon_postgres_xact_rollback_total", "mon_postgres_blocks_hit_total",
            "mon_postgres_blocks_read_total", "mon_postgres_deadlocks_total", "mon_postgres_temp_bytes_total",
            "mon_postgres_conflicts_total",
        ]
        var sums = [Double](repeating: 0, count: counters.count)
        for row in rows {
            let labels: Labels = ["database": stats.string(row, 1) ?? ""]
            for (index, name) in counters.enumerated() {
                let value = stats.double(row, index + 2) ?? 0
                sums[index] += value
                output.samples.append(Sample(name, labels, value: value, kind: .counter, timestampMs: ms))
            }
        }
        if let commits = rates.rate("commit", value: sums[0], timestampMs: ms) {
            output.samples.append(Sample("mon_postgres_commits_per_second", value: commits, timestampMs: ms))
        }
        if let rollbacks = rates.rate("rollback", value: sums[1], timestampMs: ms) {
            output.samples.append(Sample("mon_postgres_rollbacks_per_second", value: rollbacks, timestampMs: ms))
        }
        let hits = rates.rate("hit", value: sums[2], timestampMs: ms)
        let reads = rates.rate("read", value: sums[3], timestampMs: ms)
        if let hits, let reads, hits + reads > 0 {
            output.samples.append(Sample("mon_postgres_cache_hit_ratio", value: hits / (hits + reads), timestampMs: ms))
        } else if sums[2] + sums[3] > 0 {
            // No block access this cycle: the ratio since the statistics were reset.
            output.samples.append(
                Sample("mon_postgres_cache_hit_ratio", value: sums[2] / (sums[2] + sums[3]), timestampMs: ms)
            )
        }
    }

    static let states = [
        "active", "idle", "idle_in_transaction", "idle_in_transaction_aborted", "fastpath_function_call", "disabled",
    ]

    /// `idle in transaction (aborted)` → `idle_in_transaction_aborted`.
    static func stateLabel(_ state: String) -> String {
        var label = ""
        for scalar in state.unicodeScalars {
            if scalar == " " {
                label += "_"
            } else if scalar != "(" && scalar != ")" {
                label.unicodeScalars.append(scalar)
            }
        }
        return label
    }
}
