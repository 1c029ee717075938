import CLibPQ
import Glibc

/// One libpq connection. The only file in MonCore that imports `CLibPQ`.
///
/// Blocking: use it only from an actor running on a `ThreadExecutor`.
/// Not `Sendable`: it is owned by exactly one such actor.
public final class PostgresConnection {
    private let conn: OpaquePointer

    /// Connects with a `postgresql://` URL or a `key=value` connection string.
    ///
    /// `applicationName` shows in `pg_stat_activity`; `statementTimeoutMs` bounds every statement;
    /// `jit` false turns PostgreSQL's JIT compilation off for the session (nil: the server's
    /// setting).
    public init(
        url: String,
        applicationName: String,
        password: String? = nil,
        statementTimeoutMs: Int = 30_000,
        jit: Bool? = nil
    ) throws(PostgresError) {
        var keywords = ["dbname", "application_name", "options", "connect_timeout"]
        var options = "-c statement_timeout=\(statementTimeoutMs) -c client_min_messages=warning"
        if let jit { options += " -c jit=\(jit ? "on" : "off")" }
        var values = [url, applicationName, options, "10"]
        if let password {
            keywords.append("password")
            values.append(password)
        }
        let connection = withArrayOfCStrings(keywords) { keys in
            withArrayOfCStrings(values) { vals in
                PQconnectdbParams(keys, vals, 1)
            }
        }
        guard let connection else {
            throw PostgresError(.connection, "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.errorMessage(connection)
            PQfinish(connection)
            throw PostgresError(.connection, "cannot connect to \(SecretRedaction.redactURL(url)): \(message)")
        }
        self.conn = connection
    }

    deinit { PQfinish(conn) }

    /// False once the server closed the connection or it broke.
    public var isOK: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Server version as an integer (150018 for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(conn)) }

    /// Runs one statement with bound text parameters (`$1`, `$2`, ...); nil is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        let result: OpaquePointer? = withOptionalCStrings(parameters) { pointers in
            PQexecParams(conn, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        return try check(result, sql: sql)
    }

    /// Runs one or more statements without parameters (DDL, BEGIN/COMMIT). Visibly raw SQL.
    public func execute(rawSQL sql: String) throws(PostgresError) {
        _ = try check(PQexec(conn, sql), sql: sql)
    }

    /// Runs `COPY ... FROM STDIN` and streams `data` to the server.
    public func copyIn(_ sql: String, data: [UInt8]) throws(PostgresError) {
        let start = PQexec(conn, sql)
        defer { PQclear(start) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            let message = start.map { String(cString: PQresultErrorMessage($0)) } ?? Self.errorMessage(conn)
            throw PostgresError(isOK ? .copy : .connection, sqlState: Self.sqlState(start), message.trimmed)
        }
        let chunk = 1 << 20
        var offset = 0
        while offset < data.count {
            let end = min(offset + chunk, data.count)
            let sent = data[offset..<end].withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    PQputCopyData(conn, $0, Int32(buffer.count))
                }
            }
            guard sent == 1 else { throw PostgresError(.connection, "COPY send failed: \(Self.errorMessage(conn))") }
            offset = end
        }
        guard PQputCopyEnd(conn, nil) == 1 else {
            throw PostgresError(.connection, "COPY end failed: \(Self.errorMessage(conn))")
        }
        var failure: PostgresError?
        while let result = PQgetResult(conn) {
            if PQresultStatus(result) != PGRES_COMMAND_OK, failure == nil {
                failure = PostgresError(
                    isOK ? .copy : .connection,
                    sqlState: Self.sqlState(result),
                    String(cString: PQresultErrorMessage(result)).trimmed
                )
            }
            PQclear(result)
        }
        if let failure { throw failure }
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw PostgresError(.connection, Self.errorMessage(conn))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(result)
        default:
            let message = String(cString: PQresultErrorMessage(result)).trimmed
            let state = Self.sqlState(result)
            PQclear(result)
            throw PostgresError(isOK ? .statement : .connection, sqlState: state, message)
        }
    }

    private static func sqlState(_ result: OpaquePointer?) -> String? {
        guard let result, let field = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) else { return nil }
        return String(cString: field)
    }

    private static func errorMessage(_ conn: OpaquePointer) -> String {
        String(cString: PQerrorMessage(conn)).trimmed
    }
}

@available(*, unavailable)
extension PostgresConnection: Sendable {}

/// Rows returned by a statement; text format values.
public final class PostgresResult {
    private let result: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int

    init(_ result: OpaquePointer) {
        self.result = result
        rowCount = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
    }

    deinit { PQclear(result) }

    /// Rows affected by INSERT/UPDATE/DELETE, 0 when not applicable.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    /// The text value at (row, column), nil for SQL NULL or out of range.
    public func string(_ row: Int, _ column: Int) -> String? {
        guard row < rowCount, column < columnCount, PQgetisnull(result, Int32(row), Int32(column)) == 0 else {
            return nil
        }
        return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    /// The integer at (row, column), parsed from libpq's buffer without making a `String`
    /// (as `Int64(text)` does: an optional sign, digits only, nil on overflow).
    public func int(_ row: Int, _ column: Int) -> Int64? {
        guard let bytes = bytes(row, column) else { return nil }
        return PostgresArray.parseInteger(bytes)
    }

    /// The integer array at (row, column) (`{1,-2,3}`), parsed from libpq's buffer; elements
    /// that are not integers (`NULL`, out of range) are skipped; empty for SQL NULL.
    public func integers(_ row: Int, _ column: Int) -> [Int64] {
        guard let bytes = bytes(row, column) else { return [] }
        return PostgresArray.parseIntegers(bytes)
    }

    /// The value's text bytes, valid while this result lives; nil for SQL NULL or out of range.
    private func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
        guard row < rowCount, column < columnCount, PQgetisnull(result, Int32(row), Int32(column)) == 0,
            let value = PQgetvalue(result, Int32(row), Int32(column))
        else { return nil }
        return UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result, Int32(row), Int32(column))))
    }

    /// The `double precision` (or numeric) value at (row, column), read with `strtod` from
    /// libpq's NUL-terminated buffer (no `String` per cell); nil when the whole text is not
    /// a number.
    public func double(_ row: Int, _ column: Int) -> Double? {
        guard let bytes = bytes(row, column), let first = bytes.first, let start = bytes.baseAddress else {
            return nil
        }
        // PostgreSQL writes these three spellings; strtod would also take "inf", "nan", spaces.
        switch bytes.count {
        case 3 where first == UInt8(ascii: "N"): return bytes.elementsEqual("NaN".utf8) ? .nan : nil
        case 8 where first == UInt8(ascii: "I"): return bytes.elementsEqual("Infinity".utf8) ? .infinity : nil
        case 9 where first == UInt8(ascii: "-") && bytes[1] == UInt8(ascii: "I"):
            return bytes.elementsEqual("-Infinity".utf8) ? -.infinity : nil
        default: break
        }
        guard
            first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (48...57).contains(first)
        else { return nil }
        var end: UnsafeMutablePointer<CChar>? = nil
        let value = strtod(start.assumingMemoryBound(to: CChar.self), &end)
        guard let end, UnsafeRawPointer(end) == start + bytes.count else { return nil }
        return value
    }
}

@available(*, unavailable)
extension PostgresResult: Sendable {}

extension String {
    fileprivate var trimmed: String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

private func withArrayOfCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let owned = strings.map { strdup($0) }
    defer { for pointer in owned { free(pointer) } }
    return body(owned.map { UnsafePointer($0) } + [nil])
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let owned = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for pointer in owned { free(pointer) } }
    return body(owned.map { UnsafePointer($0) })
}
