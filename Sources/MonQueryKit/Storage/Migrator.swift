import Logging
import MonCore

/// Applies `Schema.migrations` that are not yet recorded in `schema_migrations`.
///
/// Safe to run twice and from several daemons at once: an advisory lock serialises
/// runners, and each migration commits together with its record.
public struct Migrator {
    /// Arbitrary constant identifying our advisory lock.
    static let lockKey = "7368411926"

    public init() {}

    /// Returns the versions applied by this call (empty when up to date).
    @discardableResult
    public func migrate(_ connector: PostgresConnector, logger: Logger) throws -> [Int] {
        // The lock first: two daemons starting together on an empty database would otherwise
        // race on CREATE TABLE IF NOT EXISTS (the loser fails on pg_type's unique index).
        try connector.withConnection { try $0.query("SELECT pg_advisory_lock($1)", [Self.lockKey]) }
        defer { _ = try? connector.withConnection { try $0.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) } }
        try connector.withConnection { connection in
            try connection.execute(
                rawSQL: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """
            )
        }
        let applied = try connector.withConnection { connection in
            let rows = try connection.query("SELECT version FROM schema_migrations")
            return Set((0..<rows.rowCount).compactMap { rows.int($0, 0) }.map { Int($0) })
        }
        var done: [Int] = []
        for migration in Schema.migrations where !applied.contains(migration.version) {
            try connector.transaction { connection in
                try connection.execute(rawSQL: migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    [String(migration.version), migration.name]
                )
            }
            logger.info(
                "applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            done.append(migration.version)
        }
        return done
    }
}
