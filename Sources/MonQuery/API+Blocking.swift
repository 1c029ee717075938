import MonCore
import MonQueryKit

extension API {
    /// The trees of `/postgres/connections` (`blocking_trees`): per tree the `blocker` (pid,
    /// state, `age_seconds` of its transaction, or of its state outside one, statement),
    /// `waiting_count`, `cycle`, and `waiting`: each waiter with its pid, `wait_seconds`, wait
    /// event, statement and its own `waiting`. Statements are whole (as the agent cut them,
    /// 1 KiB) for the admin role; for viewers their literals are masked and they are cut
    /// like slow-query texts, `statement_truncated` saying so.
    static func blockingTreesJSON(_ report: BlockingReport?, fullText: Bool) -> JSONValue {
        guard let report, report.error == nil else { return .array([]) }
        let trees = BlockingTrees(report)
        func statement(_ session: BlockingReport.Session?) -> [(String, JSONValue)] {
            guard let text = session?.statement else { return [("statement", .null), ("statement_truncated", false)] }
            let shown = fullText ? text : StatementText.forViewer(text)
            return [("statement", .string(shown)), ("statement_truncated", .bool(!fullText && shown != text))]
        }
        func names(_ session: BlockingReport.Session?) -> [(String, JSONValue)] {
            [
                ("state", session?.state.map { .string($0) } ?? .null),
                ("database", session?.database.map { .string($0) } ?? .null),
                ("user", session?.user.map { .string($0) } ?? .null),
                ("application", session?.application.map { .string($0) } ?? .null),
            ]
        }
        func waiterJSON(_ node: BlockingTrees.Node) -> JSONValue {
            let session = report.sessions[node.pid]
            return .object(
                [("pid", .number(Double(node.pid)))] + names(session) + [
                    ("wait_seconds", .number(session?.stateSeconds)),
                    ("wait_event_type", session?.waitEventType.map { .string($0) } ?? .null),
                    ("wait_event", session?.waitEvent.map { .string($0) } ?? .null),
                ] + statement(session) + [("waiting", .array(node.waiting.map(waiterJSON)))])
        }
        return .array(
            trees.trees.map { tree in
                let session = report.sessions[tree.blocker]
                let blocker: JSONValue = .object(
                    [("pid", .number(Double(tree.blocker)))] + names(session) + [
                        ("age_seconds", .number(session?.transactionSeconds ?? session?.stateSeconds)),
                        ("transaction_seconds", .number(session?.transactionSeconds)),
                        ("state_seconds", .number(session?.stateSeconds)),
                    ] + statement(session))
                return .object([
                    ("blocker", blocker),
                    ("waiting_count", .number(Double(tree.waitingCount))),
                    ("cycle", .bool(tree.cycle)),
                    ("waiting", .array(tree.waiting.map(waiterJSON))),
                ])
            })
    }
}
