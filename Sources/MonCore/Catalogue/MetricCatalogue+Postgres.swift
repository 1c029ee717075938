extension MetricCatalogue {
    /// The PostgreSQL source (`postgres:` in the agent config).
    static let postgres: [MetricDescriptor] = [
        .gauge("mon_postgres_up", "1 when the last cycle reached PostgreSQL, 0 otherwise."),
        .gauge("mon_postgres_info", labels: ["version"], "Always 1; the server version as a label."),
        .gauge("mon_postgres_max_connections", "The server's max_connections."),
        .gauge("mon_postgres_uptime_seconds", "Seconds since the PostgreSQL server started."),
        .gauge(
            "mon_postgres_connections", labels: ["database", "state"],
            "Client backends by database and state (pg_stat_activity)."),
        .gauge(
            "mon_postgres_connections_waiting", labels: ["database"], "Client backends waiting on a lock, by database."),
        .gauge("mon_postgres_connections_used", "Client backends, all databases."),
        .gauge("mon_postgres_connections_used_ratio", "Client backends / max_connections (0…1)."),
        .gauge("mon_postgres_longest_query_seconds", "Age of the longest-running active statement."),
        .gauge("mon_postgres_longest_transaction_seconds", "Age of the oldest open transaction."),
        .gauge(
            "mon_postgres_lock_wait_longest_seconds",
            "Longest time a session has been waiting on a lock (0 when none waits)."),
        .gauge(
            "mon_postgres_idle_in_transaction_longest_seconds",
            "Longest time a session has been idle in transaction (0 when none is)."),
        .counter(
            "mon_postgres_blocking_edges_dropped_total",
            "Blocker/waiter pairs left out of the blocking trees because of the report's size cap."),
        .counter("mon_postgres_xact_commit_total", labels: ["database"], "Transactions committed (pg_stat_database)."),
        .counter(
            "mon_postgres_xact_rollback_total", labels: ["database"], "Transactions rolled back (pg_stat_database)."),
        .counter("mon_postgres_blocks_hit_total", labels: ["database"], "Block reads served by shared buffers."),
        .counter("mon_postgres_blocks_read_total", labels: ["database"], "Blocks read from disk or the OS cache."),
        .counter("mon_postgres_deadlocks_total", labels: ["database"], "Deadlocks detected."),
        .counter("mon_postgres_temp_bytes_total", labels: ["database"], "Bytes written to temporary files."),
        .counter("mon_postgres_conflicts_total", labels: ["database"], "Queries cancelled by recovery conflicts."),
        .gauge("mon_postgres_commits_per_second", "Transactions committed per second since the previous cycle."),
        .gauge("mon_postgres_rollbacks_per_second", "Transactions rolled back per second since the previous cycle."),
        .gauge("mon_postgres_cache_hit_ratio", "Shared-buffer hits / (hits + reads) since the previous cycle (0…1)."),
        .gauge("mon_postgres_database_size_bytes", labels: ["database"], "Size on disk of the database."),
        .gauge("mon_postgres_statements_available", "1 when pg_stat_statements can be read, 0 otherwise."),
        .counter("mon_postgres_statements_calls_total", "Statement executions counted by pg_stat_statements."),
        .counter(
            "mon_postgres_statements_exec_seconds_total", "Statement execution time counted by pg_stat_statements."),
        .counter(
            "mon_postgres_statements_slow_total",
            "Executions slower than postgres.slow_query_ms (estimated from pg_stat_statements)."),
    ]
}
