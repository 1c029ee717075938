import MonCore

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
    /// `postgres.explain_roles` — roles whose statements are planned (default: none listed =
    /// the owner of the database monagent connects to, i.e. the application's role; `*` = any).
    /// Only statements of that database are ever planned (the plan needs a connection to it).
    public var explainRoles: [String] = []
    /// `postgres.explain_search_path` — schemas searched after `pg_catalog` while planning, in
    /// the application's order (default `public`); `pg_temp` comes last, `"$user"` never.
    public var explainSearchPath: [String] = ["public"]
    /// `postgres.explain_timeout_ms` — statement_timeout of the planning transaction (default 1000).
    public var explainTimeoutMs: Int = 1000
    /// `postgres.explain_lock_timeout_ms` — lock_timeout of the planning transaction (default 100):
    /// planning waits at most this long behind a migration's lock, and never makes it wait longer.
    public var explainLockTimeoutMs: Int = 100

    /// True when statements of `role` may be planned (`databaseOwner`: the monitored database's owner).
    public func explains(role: String, databaseOwner: String) -> Bool {
        if explainRoles.isEmpty { return !role.isEmpty && role == databaseOwner }
        return explainRoles.contains("*") || explainRoles.contains(role)
    }

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
        let roles = try source.stringList("postgres.explain_roles", default: [])
        let searchPath = try source.stringList("postgres.explain_search_path", default: ["public"])
        for schema in searchPath where schema.isEmpty || schema.hasPrefix("$") || schema.hasPrefix("pg_") {
            throw ConfigError(
                key: "postgres.explain_search_path",
                message:
                    "'\(schema)' is not an application schema (pg_catalog comes first and pg_temp last by themselves)")
        }
        let explainTimeout = try source.int("postgres.explain_timeout_ms", default: 1000, range: 10...600_000)
        let lockTimeout = try source.int("postgres.explain_lock_timeout_ms", default: 100, range: 1...600_000)
        guard let url else { return nil }
        self.url = url
        self.password = password
        statementsInterval = statements
        tablesInterval = tables
        statementTimeoutMs = timeout
        plansTop = top
        slowThresholdMs = threshold
        suggestMinTableBytes = minBytes
        explainRoles = roles
        explainSearchPath = searchPath
        explainTimeoutMs = explainTimeout
        explainLockTimeoutMs = lockTimeout
    }
}
