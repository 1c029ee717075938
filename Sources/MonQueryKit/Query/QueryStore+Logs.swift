import MonCore

/// A position in the newest-first log listing: the last record returned.
public struct LogCursor: Sendable, Equatable {
    /// Microseconds since the epoch (the stored precision).
    public var timestampUs: Int64
    public var id: Int64

    public init(timestampUs: Int64, id: Int64) {
        self.timestampUs = timestampUs
        self.id = id
    }

    /// `<µs>-<id>`, opaque to clients.
    public var text: String { "\(timestampUs)-\(id)" }

    public init(parsing text: String) throws(ParameterError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let us = Int64(parts[0]), let id = Int64(parts[1]), us >= 0, id >= 0 else {
            throw ParameterError("cursor", "'\(text.prefix(40))' is not a cursor returned by this endpoint")
        }
        self.init(timestampUs: us, id: id)
    }
}

/// One page of `/logs`.
public struct LogPage: Sendable {
    public var logs: [StoredLog]
    /// Where the next (older) page starts; nil on the last page.
    public var next: LogCursor?
}

extension QueryStore {
    static let logColumns = """
        id, (extract(epoch FROM ts) * 1000000)::bigint, host, service, level, event, logger, trace_id,
        fields::text, source, "offset"
        """

    /// The filter of `filterParameters` as `$1`…`$7`.
    static let logFilterSQL = """
        ts > to_timestamp($1::double precision) AND ts <= to_timestamp($2::double precision)
          AND ($3::smallint IS NULL OR level >= $3)
          AND ($4::text IS NULL OR service = $4)
          AND ($5::text IS NULL OR host = $5)
          AND ($6::text IS NULL OR trace_id = $6)
          AND ($7::text IS NULL OR search @@ websearch_to_tsquery('simple', $7))
        """

    /// Newest first, filtered, `limit` per page, after `cursor` when given.
    public func logs(filter: LogFilter, range: TimeRange, limit: Int, cursor: LogCursor?) throws -> LogPage {
        try connector.withConnection { connection -> LogPage in
            let rows = try connection.query(
                """
                SELECT \(Self.logColumns)
                FROM logs
                WHERE \(Self.logFilterSQL)
                  AND ($8::bigint IS NULL
                       OR (ts, id) < (to_timestamp($8::double precision / 1000000), $9::bigint))
                ORDER BY ts DESC, id DESC
                LIMIT $10
                """,
                Self.filterParameters(filter, range: range)
                    + [cursor.map { String($0.timestampUs) }, cursor.map { String($0.id) }, String(limit + 1)]
            )
            var page = Self.decodeLogs(rows)
            var next: LogCursor? = nil
            if page.count > limit {
                page.removeLast(page.count - limit)
                next = page.last.map { LogCursor(timestampUs: $0.timestampUs, id: $0.log.id) }
            }
            return LogPage(logs: page.map(\.log), next: next)
        }
    }

    /// The record `id`, whole (the dashboard's expanded row, `/logs/{id}`); nil when there is
    /// none (never stored, or dropped by retention).
    public func log(id: Int64) throws -> StoredLog? {
        try connector.withConnection { connection -> StoredLog? in
            let rows = try connection.query("SELECT \(Self.logColumns) FROM logs WHERE id = $1::bigint", [String(id)])
            return Self.decodeLogs(rows).first?.log
        }
    }

    /// Records with an id above `afterID`, oldest first (live-stream resumption), within `range`.
    public func logs(after afterID: Int64, filter: LogFilter, range: TimeRange, limit: Int) throws -> [StoredLog] {
        try connector.withConnection { connection -> [StoredLog] in
            let rows = try connection.query(
                """
                SELECT \(Self.logColumns)
                FROM logs
                WHERE \(Self.logFilterSQL)
                  AND id > $8::bigint
                ORDER BY id
                LIMIT $9
                """,
                Self.filterParameters(filter, range: range) + [String(afterID), String(limit)]
            )
            return Self.decodeLogs(rows).map(\.log)
        }
    }

    static func filterParameters(_ filter: LogFilter, range: TimeRange) -> [String?] {
        [
            String(Double(range.startMs) / 1000), String(Double(range.endMs) / 1000),
            filter.level.map { String($0.rawValue) }, filter.service, filter.host, filter.traceID, filter.query,
        ]
    }

    static func decodeLogs(_ rows: PostgresResult) -> [(log: StoredLog, timestampUs: Int64)] {
        (0..<rows.rowCount).compactMap { row in
            guard let id = rows.int(row, 0), let us = rows.int(row, 1), let host = rows.string(row, 2),
                let level = rows.int(row, 4)
            else { return nil }
            let record = LogRecord(
                timestampMs: us / 1000, level: LogLevel(rawValue: Int(level)) ?? .info,
                service: rows.string(row, 3) ?? "", event: rows.string(row, 5) ?? "", logger: rows.string(row, 6),
                traceID: rows.string(row, 7), fields: rows.string(row, 8) ?? "{}", source: rows.string(row, 9) ?? "",
                offset: rows.int(row, 10) ?? 0)
            return (StoredLog(id: id, host: host, record: record), us)
        }
    }
}
