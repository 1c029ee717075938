/// Who blocks whom on a PostgreSQL server at one moment: waiter → blocker pairs from
/// `pg_blocking_pids(pid)` and what `pg_stat_activity` says of each session.
///
/// The agent reads it each cycle some session waits on a lock (`parse(rows:)`) and ships it
/// as a `pg_locks` event (`payload`); the daemon reads it back (`decode`) to build the
/// blocking trees of `/postgres/connections` and the detail of the `PostgresLockWaits`
/// alert. Both ends check every value: a row or payload that makes no sense is skipped,
/// never trusted.
public struct BlockingReport: Sendable, Equatable {
    /// One session of the report: a waiter, a blocker, or both.
    public struct Session: Sendable, Equatable {
        public var pid: Int64
        public var state: String?
        public var database: String?
        public var user: String?
        public var application: String?
        public var waitEventType: String?
        public var waitEvent: String?
        /// Seconds since its transaction began (nil outside a transaction or when hidden).
        public var transactionSeconds: Double?
        /// Seconds since its state last changed: for a waiter, how long it has waited.
        public var stateSeconds: Double?
        /// Its current or last statement, cut at `maxStatementBytes`.
        public var statement: String?

        public init(pid: Int64) { self.pid = pid }
    }

    public struct Edge: Sendable, Hashable {
        public var waiter: Int64
        public var blocker: Int64
        public init(waiter: Int64, blocker: Int64) {
            self.waiter = waiter
            self.blocker = blocker
        }
    }

    public var edges: [Edge] = []
    public var sessions: [Int64: Session] = [:]
    /// Pairs left out: beyond the edge cap, or rows that made no sense.
    public var dropped = 0
    /// Why the report could not be read (then there are no edges).
    public var error: String?

    public init(edges: [Edge] = [], sessions: [Int64: Session] = [:], dropped: Int = 0, error: String? = nil) {
        self.edges = edges
        self.sessions = sessions
        self.dropped = dropped
        self.error = error
    }

    /// Most pairs in one report (the agent's `LIMIT`, the daemon's cap on a payload).
    public static let maxEdges = 200
    /// Longest statement text kept per session, in bytes (cut at a character boundary).
    public static let maxStatementBytes = 1024
    /// Longest state, name or wait event kept, in bytes.
    static let maxNameBytes = 128
    /// Longest error message kept, in bytes.
    static let maxErrorBytes = 300

    /// The agent's query, constant: `$1` the statement length in characters, `$2` the edge cap.
    /// Columns: waiter pid, blocker pid, pairs on the server, then `sessionColumns` of the
    /// waiter and of the blocker (NULL when the blocker has left `pg_stat_activity`, or is a
    /// prepared transaction, pid 0).
    public static let query = """
        SELECT w.pid, b.pid, count(*) OVER (),
               w.state, w.datname, w.usename, w.application_name, w.wait_event_type, w.wait_event,
               extract(epoch FROM now() - w.xact_start), extract(epoch FROM now() - w.state_change),
               left(w.query, $1::int),
               s.state, s.datname, s.usename, s.application_name, s.wait_event_type, s.wait_event,
               extract(epoch FROM now() - s.xact_start), extract(epoch FROM now() - s.state_change),
               left(s.query, $1::int)
        FROM pg_stat_activity w
        CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid)
        LEFT JOIN pg_stat_activity s ON s.pid = b.pid
        WHERE w.wait_event_type = 'Lock'
        ORDER BY w.pid, b.pid
        LIMIT $2::int
        """
    static let sessionColumns = 9
    static let columns = 3 + 2 * sessionColumns

    /// The report of the query's rows (text values, nil for NULL). Rows with a missing or
    /// impossible pid, a session blocking itself and repeated pairs are skipped and counted
    /// in `dropped`, as are pairs past `maxEdges` and those the server's `LIMIT` left out;
    /// negative ages become 0, non-finite ones nil; texts are cut.
    public static func parse(rows: [[String?]], maxEdges: Int = maxEdges) -> BlockingReport {
        var report = BlockingReport()
        var seen = Set<Edge>()
        var serverTotal = 0
        for row in rows {
            guard row.count >= columns else {
                report.dropped += 1
                continue
            }
            if let total = row[2].flatMap({ Int($0) }), total > 0 { serverTotal = max(serverTotal, total) }
            guard let waiter = pid(row[0]), waiter > 0, let blocker = pid(row[1]), waiter != blocker else {
                report.dropped += 1
                continue
            }
            let edge = Edge(waiter: waiter, blocker: blocker)
            guard !seen.contains(edge) else {
                report.dropped += 1
                continue
            }
            guard report.edges.count < maxEdges else {
                report.dropped += 1
                continue
            }
            seen.insert(edge)
            report.edges.append(edge)
            if report.sessions[waiter] == nil {
                report.sessions[waiter] = session(waiter, row[3..<(3 + sessionColumns)])
            }
            if report.sessions[blocker] == nil, row[3 + sessionColumns..<columns].contains(where: { $0 != nil }) {
                report.sessions[blocker] = session(blocker, row[(3 + sessionColumns)..<columns])
            }
        }
        // Pairs the server counted but did not return (its LIMIT).
        report.dropped += max(0, serverTotal - rows.count)
        return report
    }

    /// A pid as PostgreSQL prints it: a whole number in 0 … Int32.max.
    static func pid(_ text: String?) -> Int64? {
        guard let text, let value = Int64(text), value >= 0, value <= Int64(Int32.max) else { return nil }
        return value
    }

    static func session(_ pid: Int64, _ columns: ArraySlice<String?>) -> Session {
        let values = Array(columns)
        var session = Session(pid: pid)
        session.state = values[0].map { cut($0, maxNameBytes) }
        session.database = values[1].map { cut($0, maxNameBytes) }
        session.user = values[2].map { cut($0, maxNameBytes) }
        session.application = values[3].map { cut($0, maxNameBytes) }
        session.waitEventType = values[4].map { cut($0, maxNameBytes) }
        session.waitEvent = values[5].map { cut($0, maxNameBytes) }
        session.transactionSeconds = age(values[6])
        session.stateSeconds = age(values[7])
        session.statement = values[8].map { cut($0, maxStatementBytes) }
        return session
    }

    /// Seconds as printed by `extract(epoch …)`: negative (clock steps) → 0, non-finite → nil.
    static func age(_ text: String?) -> Double? {
        guard let text, let value = Double(text), value.isFinite else { return nil }
        return max(0, value)
    }

    /// `text` cut to at most `maxBytes` of UTF-8, at a character boundary.
    public static func cut(_ text: String, _ maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var bytes = 0
        var end = text.startIndex
        for index in text.indices {
            let next = text.index(after: index)
            bytes += text.utf8.distance(from: index, to: next)
            if bytes > maxBytes { break }
            end = next
        }
        return String(text[..<end])
    }

    /// A report that could not be read, with why.
    public static func unreadable(_ reason: String) -> BlockingReport {
        BlockingReport(error: cut(reason, maxErrorBytes))
    }
}
