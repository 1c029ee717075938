/// The PostgreSQL source of monagent (`postgres.*` keys; off when `postgres.url` is empty).
public struct PostgresSourceConfig: Sendable {
    /// `postgres.url` — DSN of the monitored server (env `MONAGENT_POSTGRES_URL`); the role needs `pg_monitor`.
    public var url: String
    /// `postgres.password_file` — password kept out of the URL (never logged).
    public var password: String?
    /// `postgres.statements_interval` — seconds between `pg_stat_statements` readings (default 60).
    public var statementsInterval: Double = 60
    /// `postgres.tables_interval` — seconds between table/index snapshots (default 300).
    public var tablesInterval: Double = 300
    /// `postgres.statement_timeout_ms` — bound on every query of the agent (default 2000).
    public var statementTimeoutMs: Int = 2000
    /// `postgres.plans_top` — slow statements explained per pass (default 5).
    public var plansTop: Int = 5
    /// `postgres.slow_threshold_ms` — mean time above which a statement is slow (default 100).
    public var slowThresholdMs: Double = 100
    /// `postgres.suggest_min_table_bytes` — smallest table worth an index suggestion (default 8 MiB).
    public var suggestMinTableBytes: Double = 8 * 1024 * 1024

    public init(url: String) { self.url = url }

    init?(source: ConfigSource) throws {
        let url = source.optionalString("postgres.url")
        let password = try source.secretFile("postgres.password_file")
        let statements = try source.double("postgres.statements_interval", default: 60, range: 0.05...86_400)
        let tables = try source.double("postgres.tables_interval", default: 300, range: 0.05...86_400)
        let timeout = try source.int("postgres.statement_timeout_ms", default: 2000, range: 10...600_000)
        let top = try source.int("postgres.plans_top", default: 5, range: 0...100)
        let threshold = try source.double("postgres.slow_threshold_ms", default: 100, range: 0...3_600_000)
        let minBytes = try source.double(
            "postgres.suggest_min_table_bytes",
            default: 8 * 1024 * 1024,
            range: 0...1e15
        )
        guard let url else { return nil }
        self.url = url
        self.password = password
        statementsInterval = statements
        tablesInterval = tables
        statementTimeoutMs = timeout
        plansTop = top
        slowThresholdMs = threshold
        suggestMinTableBytes = minBytes
    }
}
