import Foundation
import MonCore

/// `alert_events`: writes transitions and reads them back, on its own connection and thread.
public actor AlertStore {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector

    public init(databaseURL: String, password: String? = nil) {
        executor = ThreadExecutor(name: "pg-alerts")
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-alerts", password: password)
    }

    public struct Event: Sendable {
        public var id: Int64
        public var timestampMs: Int64
        public var transition: AlertEngine.Transition
    }

    public func record(_ transitions: [AlertEngine.Transition]) throws {
        guard !transitions.isEmpty else { return }
        try connector.withConnection { connection in
            for item in transitions {
                _ = try connection.query(
                    """
                    INSERT INTO alert_events (ts, rule, host, severity, state, value, threshold, summary, hint)
                    VALUES (to_timestamp($1::double precision / 1000), $2, $3, $4, $5, $6, $7, $8, $9)
                    """,
                    [
                        String(item.timestampMs), item.rule, item.host, item.severity.rawValue, item.state.rawValue,
                        item.value.isFinite ? String(item.value) : nil,
                        item.threshold.isFinite ? String(item.threshold) : nil, item.summary, item.hint,
                    ])
            }
        }
    }

    /// Transitions newest first, optionally of one state and host, since `sinceMs` (and up to
    /// `untilMs` inclusive when given: an absolute range).
    public func events(state: String?, host: String?, sinceMs: Int64, untilMs: Int64? = nil, limit: Int) throws
        -> [Event]
    {
        try connector.withConnection { connection in
            let result = try connection.query(
                """
                SELECT id, (extract(epoch FROM ts) * 1000)::bigint, rule, host, severity, state, value, threshold,
                       summary, hint
                FROM alert_events
                WHERE ts >= to_timestamp($1::double precision / 1000)
                  AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR host = $3)
                  AND ($5::double precision IS NULL OR ts <= to_timestamp($5::double precision / 1000))
                ORDER BY id DESC LIMIT $4
                """, [String(sinceMs), state, host, String(limit), untilMs.map { String($0) }])
            return Self.decode(result)
        }
    }

    /// Transitions after `afterID`, oldest first (the live stream's next page); with a nil
    /// `afterID`, none, only the current highest id to start from.
    public func events(afterID: Int64?, limit: Int) throws -> (events: [Event], lastID: Int64) {
        try connector.withConnection { connection in
            guard let afterID else {
                let result = try connection.query("SELECT coalesce(max(id), 0) FROM alert_events", [])
                return ([], Int64(result.string(0, 0) ?? "") ?? 0)
            }
            let result = try connection.query(
                """
                SELECT id, (extract(epoch FROM ts) * 1000)::bigint, rule, host, severity, state, value, threshold,
                       summary, hint
                FROM alert_events WHERE id > $1 ORDER BY id LIMIT $2
                """, [String(afterID), String(limit)])
            let events = Self.decode(result)
            return (events, events.last?.id ?? afterID)
        }
    }

    private static func decode(_ result: PostgresResult) -> [Event] {
        (0..<result.rowCount).map { row in
            Event(
                id: Int64(result.string(row, 0) ?? "") ?? 0, timestampMs: Int64(result.string(row, 1) ?? "") ?? 0,
                transition: AlertEngine.Transition(
                    timestampMs: Int64(result.string(row, 1) ?? "") ?? 0, rule: result.string(row, 2) ?? "",
                    host: result.string(row, 3) ?? "",
                    severity: AlertRule.Severity(rawValue: result.string(row, 4) ?? "") ?? .warning,
                    state: AlertEngine.State(rawValue: result.string(row, 5) ?? "") ?? .inactive,
                    value: result.double(row, 6) ?? .nan, threshold: result.double(row, 7) ?? .nan,
                    summary: result.string(row, 8) ?? "", hint: result.string(row, 9) ?? ""))
        }
    }

    /// The alerts whose latest transition is `firing`, to restore after a restart.
    public func firing() throws -> [AlertEngine.Active] {
        try connector.withConnection { connection in
            let result = try connection.query(
                """
                SELECT rule, host, severity, (extract(epoch FROM ts) * 1000)::bigint, value, threshold, summary, hint
                FROM (SELECT DISTINCT ON (rule, host) * FROM alert_events ORDER BY rule, host, id DESC) latest
                WHERE state = 'firing'
                """)
            return (0..<result.rowCount).map { row in
                let since = Int64(result.string(row, 3) ?? "") ?? 0
                return AlertEngine.Active(
                    rule: result.string(row, 0) ?? "", host: result.string(row, 1) ?? "",
                    severity: AlertRule.Severity(rawValue: result.string(row, 2) ?? "") ?? .warning, state: .firing,
                    sinceMs: since, firingSinceMs: since, value: result.double(row, 4) ?? .nan,
                    threshold: result.double(row, 5) ?? .nan, summary: result.string(row, 6) ?? "",
                    hint: result.string(row, 7) ?? "", lastNotifiedMs: since)
            }
        }
    }

    /// Deletes transitions older than `days` (the events retention).
    public func trim(days: Int) throws {
        try connector.withConnection { connection in
            _ = try connection.query(
                "DELETE FROM alert_events WHERE ts < now() - make_interval(days => $1::int)", [String(days)])
        }
    }
}
