/// The `pg_locks` event's payload:
///
/// ```json
/// {"edges": [[waiter_pid, blocker_pid], …], "dropped": 0,
///  "sessions": [{"pid": 1234, "state": "idle in transaction", "database": "app", "user": "app",
///                "application": "api", "wait_event_type": null, "wait_event": null,
///                "transaction_seconds": 95.2, "state_seconds": 94.9, "statement": "UPDATE …"}]}
/// ```
///
/// or `{"error": "…", "edges": [], "sessions": []}` when the agent could not read them.
extension BlockingReport {
    /// The event kind the agent ships and the daemon reads.
    public static let eventKind = "pg_locks"

    public var payload: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("edges", .array(edges.map { .array([.number(Double($0.waiter)), .number(Double($0.blocker))]) })),
            ("dropped", .number(Double(dropped))),
            ("sessions", .array(sessions.keys.sorted().compactMap { sessions[$0]?.json })),
        ]
        if let error { pairs.append(("error", .string(error))) }
        return .object(pairs)
    }

    /// The report in a payload, checked as the agent's own rows are: at most `maxEdges`
    /// pairs (the rest counted in `dropped`), impossible pids skipped, texts cut. Nil when
    /// the payload is not an object with an `edges` list.
    public static func decode(_ payload: JSONValue, maxEdges: Int = maxEdges) -> BlockingReport? {
        guard case .object = payload, case .array(let edgeValues)? = payload["edges"] else { return nil }
        var report = BlockingReport()
        if let error = payload["error"]?.stringValue { report.error = cut(error, maxErrorBytes) }
        if let dropped = payload["dropped"]?.doubleValue, dropped.isFinite, dropped >= 0, dropped < 1e12 {
            report.dropped = Int(dropped)
        }
        var seen = Set<Edge>()
        for value in edgeValues {
            guard case .array(let pair) = value, pair.count == 2, let waiter = pid(pair[0]), waiter > 0,
                let blocker = pid(pair[1]), waiter != blocker, !seen.contains(Edge(waiter: waiter, blocker: blocker)),
                report.edges.count < maxEdges
            else {
                report.dropped += 1
                continue
            }
            let edge = Edge(waiter: waiter, blocker: blocker)
            seen.insert(edge)
            report.edges.append(edge)
        }
        let wanted = Set(report.edges.flatMap { [$0.waiter, $0.blocker] })
        if case .array(let sessionValues)? = payload["sessions"] {
            for value in sessionValues {
                guard let pid = pid(value["pid"]), wanted.contains(pid), report.sessions[pid] == nil else { continue }
                var session = Session(pid: pid)
                session.state = text(value["state"], maxNameBytes)
                session.database = text(value["database"], maxNameBytes)
                session.user = text(value["user"], maxNameBytes)
                session.application = text(value["application"], maxNameBytes)
                session.waitEventType = text(value["wait_event_type"], maxNameBytes)
                session.waitEvent = text(value["wait_event"], maxNameBytes)
                session.transactionSeconds = seconds(value["transaction_seconds"])
                session.stateSeconds = seconds(value["state_seconds"])
                session.statement = text(value["statement"], maxStatementBytes)
                report.sessions[pid] = session
            }
        }
        return report
    }

    private static func pid(_ value: JSONValue?) -> Int64? {
        guard let number = value?.doubleValue, number == number.rounded(), number >= 0, number <= Double(Int32.max)
        else { return nil }
        return Int64(number)
    }

    private static func text(_ value: JSONValue?, _ maxBytes: Int) -> String? {
        value?.stringValue.map { cut($0, maxBytes) }
    }

    private static func seconds(_ value: JSONValue?) -> Double? {
        guard let number = value?.doubleValue, number.isFinite else { return nil }
        return max(0, number)
    }
}

extension BlockingReport.Session {
    var json: JSONValue {
        .object([
            ("pid", .number(Double(pid))),
            ("state", state.map { .string($0) } ?? .null),
            ("database", database.map { .string($0) } ?? .null),
            ("user", user.map { .string($0) } ?? .null),
            ("application", application.map { .string($0) } ?? .null),
            ("wait_event_type", waitEventType.map { .string($0) } ?? .null),
            ("wait_event", waitEvent.map { .string($0) } ?? .null),
            ("transaction_seconds", .number(transactionSeconds)),
            ("state_seconds", .number(stateSeconds)),
            ("statement", statement.map { .string($0) } ?? .null),
        ])
    }
}
