import MonCore

/// What `/export` can stream, and the SQL of each (columns in order; bound parameters
/// `$1` start, `$2` end in epoch seconds, `$3` host or NULL).
public enum ExportKind: String, Sendable, CaseIterable {
    /// Every sample of every series.
    case metrics
    case system
    case redis
    case postgres
    case agent
    /// Request-duration histograms per window, with their percentiles.
    case api
    case logs
    case events

    public var columns: [String] {
        switch self {
        case .metrics, .system, .redis, .postgres, .agent: return ["timestamp", "host", "metric", "labels", "value"]
        case .api:
            return [
                "timestamp", "host", "metric", "labels", "count", "sum_seconds", "p50_seconds", "p95_seconds",
                "p99_seconds", "max_seconds",
            ]
        case .logs: return ["timestamp", "id", "host", "service", "level", "event", "logger", "trace_id", "fields"]
        case .events: return ["timestamp", "host", "kind", "key", "payload"]
        }
    }

    /// Columns holding JSON text (embedded as JSON, not as strings, in the JSON format).
    public var jsonColumns: Set<String> { ["labels", "fields", "payload"] }
    /// Columns holding numbers.
    public var numberColumns: Set<String> {
        [
            "value", "count", "sum_seconds", "p50_seconds", "p95_seconds", "p99_seconds", "max_seconds", "id",
        ]
    }

    static let timeBound = """
        ts > to_timestamp($1::double precision) AND ts <= to_timestamp($2::double precision)
        """

    var sql: String {
        let timestamp = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        switch self {
        case .metrics, .system, .redis, .postgres, .agent:
            let names: String
            switch self {
            case .system: names = "AND (s.name LIKE 'mon\\_host\\_%' OR s.name LIKE 'mon\\_process\\_%')"
            case .redis: names = "AND s.name LIKE 'mon\\_redis\\_%'"
            case .postgres: names = "AND s.name LIKE 'mon\\_postgres\\_%'"
            case .agent: names = "AND s.name LIKE 'mon\\_agent\\_%'"
            default: names = ""
            }
            return """
                SELECT \(timestamp), s.host, s.name, s.labels::text, m.value::text
                FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE m.\(Self.timeBound) AND ($3::text IS NULL OR s.host = $3) \(names)
                ORDER BY m.ts
                """
        case .api:
            return """
                SELECT \(timestamp), s.host, s.name, s.labels::text, h.count::text, h.sum::text,
                       h.zero_count::text, h.idx::text, h.cnt::text, h.min::text, h.max::text
                FROM histograms h JOIN metric_series s ON s.id = h.series_id
                WHERE h.\(Self.timeBound) AND ($3::text IS NULL OR s.host = $3)
                ORDER BY h.ts
                """
        case .logs:
            return """
                SELECT \(timestamp), id::text, host, service, level::text, event, logger, trace_id, fields::text
                FROM logs
                WHERE \(Self.timeBound) AND ($3::text IS NULL OR host = $3)
                ORDER BY ts, id
                """
        case .events:
            return """
                SELECT \(timestamp), host, kind, key, payload::text
                FROM events
                WHERE \(Self.timeBound) AND ($3::text IS NULL OR host = $3)
                ORDER BY ts
                """
        }
    }

    /// A fetched row in the shape of `columns` (histogram rows get their percentiles computed).
    func shape(_ row: [String?]) -> [String?] {
        switch self {
        case .api:
            guard row.count == 11 else { return row }
            let indexes = PostgresArray.parseIntegers(row[7] ?? "")
            let counts = PostgresArray.parseIntegers(row[8] ?? "")
            var buckets: [Int32: UInt64] = [:]
            for (index, count) in zip(indexes, counts) {
                if let index32 = Int32(exactly: index), count > 0 {
                    buckets[index32, default: 0].addCount(UInt64(count))
                }
            }
            let zeroCount = UInt64(max(0, Int64(row[6] ?? "") ?? 0))
            let histogram = Histogram(
                buckets: buckets, zeroCount: min(zeroCount, Histogram.maxCount),
                sum: Double(row[5] ?? "") ?? 0, min: Double(row[9] ?? "") ?? .infinity,
                max: Double(row[10] ?? "") ?? -.infinity)
            func text(_ value: Double?) -> String? { value.map { "\($0)" } }
            return [
                row[0], row[1], row[2], row[3], row[4], row[5], text(histogram?.quantile(0.5)),
                text(histogram?.quantile(0.95)), text(histogram?.quantile(0.99)), row[10],
            ]
        case .logs:
            var shaped = row
            if let level = row[4].flatMap({ Int($0) }).flatMap(LogLevel.init(rawValue:)) { shaped[4] = level.name }
            return shaped
        default:
            return row
        }
    }
}

/// Streams the result of one export through a server-side cursor, on its own
/// connection and thread, so a 24 h export never sits in memory and never blocks the API.
public actor ExportCursor {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let connector: PostgresConnector
    public let kind: ExportKind
    private var open = false

    public init(kind: ExportKind, databaseURL: String, password: String?) {
        executor = ThreadExecutor(name: "pg-export")
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-export", password: password)
        self.kind = kind
    }

    /// Declares the cursor in a read-only transaction.
    public func start(range: TimeRange, host: String?) throws {
        try connector.withConnection { connection in
            try connection.execute(rawSQL: "BEGIN READ ONLY")
            try connection.query(
                "DECLARE export_rows NO SCROLL CURSOR FOR \(kind.sql)",
                [String(Double(range.startMs) / 1000), String(Double(range.endMs) / 1000), host]
            )
        }
        open = true
    }

    /// The next rows, shaped as `kind.columns`; empty at the end.
    public func next(_ count: Int) throws -> [[String?]] {
        guard open else { return [] }
        return try connector.withConnection { connection in
            let rows = try connection.query("FETCH \(max(1, count)) FROM export_rows")
            return (0..<rows.rowCount).map { row in
                kind.shape((0..<rows.columnCount).map { rows.string(row, $0) })
            }
        }
    }

    /// Ends the transaction and closes the connection.
    public func finish() {
        if open { try? connector.withConnection { try $0.execute(rawSQL: "COMMIT") } }
        open = false
        connector.close()
    }
}
