/// A failure talking to PostgreSQL, with the server's message.
///
/// Messages never contain the connection password: URLs are redacted before
/// they are put in a message, and libpq's own messages do not echo it.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Could not connect, or the connection was lost.
        case connection
        /// The server rejected a statement (see `sqlState`).
        case statement
        /// COPY protocol failure.
        case copy
    }

    public var code: Code
    /// SQLSTATE when the server sent one (`23505` unique violation, `57014` query canceled, ...).
    public var sqlState: String?
    public var message: String

    public init(_ code: Code, sqlState: String? = nil, _ message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// True when the connection itself is unusable and must be re-established.
    public var isConnectionFailure: Bool {
        code == .connection || (sqlState?.hasPrefix("08") ?? false) || sqlState == "57P01"
    }

    /// True for an error that the same statement on the same data meets again, so retrying
    /// the batch cannot help (it is quarantined instead): SQLSTATE class 22 (data exception:
    /// invalid input, out of range, a NUL in text), 23 (integrity constraint violation) and
    /// 54 (program limit exceeded: an index row too large, a statement too complex). Everything
    /// else may pass on a retry: 08 (connection), 40 (serialization failure, deadlock), 53
    /// (disk full, out of memory, too many connections), 57 (operator intervention, statement
    /// timeout), XX (internal), and errors without a SQLSTATE.
    public var isPermanent: Bool {
        guard !isConnectionFailure, let sqlState, sqlState.utf8.count == 5 else { return false }
        return ["22", "23", "54"].contains(String(sqlState.prefix(2)))
    }

    public var description: String {
        if let sqlState { return "postgres \(code.rawValue) error [\(sqlState)]: \(message)" }
        return "postgres \(code.rawValue) error: \(message)"
    }
}
