/// Holds at most one connection and re-establishes it after a failure.
///
/// Owned by one actor on a `ThreadExecutor`; every use goes through `withConnection`.
public final class PostgresConnector {
    public let url: String
    public let applicationName: String
    public let statementTimeoutMs: Int
    private let password: String?
    /// The session's `jit` setting (nil: the server's); see `PostgresConnection.init`.
    private let jit: Bool?
    private var connection: PostgresConnection?

    /// `password` (from a secret file) is passed to libpq apart from the URL, so it never shows in it.
    public init(
        url: String, applicationName: String, password: String? = nil, statementTimeoutMs: Int = 30_000,
        jit: Bool? = nil
    ) {
        self.url = url
        self.password = password
        self.applicationName = applicationName
        self.statementTimeoutMs = statementTimeoutMs
        self.jit = jit
    }

    /// Runs `body` on a live connection, connecting first if needed. A connection-level
    /// failure drops the connection so the next call reconnects.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let live: PostgresConnection
        if let connection, connection.isOK {
            live = connection
        } else {
            connection = nil
            live = try PostgresConnection(
                url: url,
                applicationName: applicationName,
                password: password,
                statementTimeoutMs: statementTimeoutMs,
                jit: jit
            )
            connection = live
        }
        do {
            return try body(live)
        } catch let error as PostgresError where error.isConnectionFailure || !live.isOK {
            connection = nil
            throw error
        }
    }

    /// Runs `body` inside BEGIN/COMMIT; rolls back when it throws.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { connection in
            try connection.execute(rawSQL: "BEGIN")
            do {
                let value = try body(connection)
                try connection.execute(rawSQL: "COMMIT")
                return value
            } catch {
                if connection.isOK { try? connection.execute(rawSQL: "ROLLBACK") }
                throw error
            }
        }
    }

    /// Closes the connection (it reopens on next use).
    public func close() { connection = nil }
}

@available(*, unavailable)
extension PostgresConnector: Sendable {}
