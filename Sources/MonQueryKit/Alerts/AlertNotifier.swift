import MonCore

/// Where the evaluator sends notifications about alert transitions. MonCore only builds
/// the body (`AlertmanagerPayload`); the sender lives in monquery, so the agent binary does
/// not link an HTTP client (FoundationNetworking, libcurl) it never uses.
public protocol AlertNotifier: Sendable {
    /// Sends in the background; returns at once.
    func notify(_ alerts: [AlertEngine.Active]) async
}

/// The Alertmanager webhook body (version 4), so receivers and chat bridges written for
/// Alertmanager work unchanged.
public enum AlertmanagerPayload {
    /// The Alertmanager webhook body for these alerts (one group per call).
    public static func body(_ alerts: [AlertEngine.Active], externalURL: String) -> JSONValue {
        let firing = alerts.contains { $0.state == .firing }
        let items: [JSONValue] = alerts.map { alert in
            let resolved = alert.state == .resolved
            return .object([
                ("status", resolved ? "resolved" : "firing"),
                (
                    "labels",
                    .object([
                        ("alertname", .string(alert.rule)), ("severity", .string(alert.severity.rawValue)),
                        ("host", .string(alert.host)),
                    ])
                ),
                (
                    "annotations",
                    .object([
                        ("summary", .string(alert.summary)), ("hint", .string(alert.hint)),
                        ("value", .string(AlertRule.number(alert.value))),
                    ])
                ),
                ("startsAt", .string(Timestamp.iso8601(ms: alert.firingSinceMs ?? alert.sinceMs))),
                ("endsAt", .string(resolved ? Timestamp.iso8601(ms: WallClock.nowMs()) : "0001-01-01T00:00:00Z")),
                ("generatorURL", .string(externalURL)),
                ("fingerprint", .string(fingerprint("\(alert.rule)|\(alert.host)"))),
            ])
        }
        let common: [(String, JSONValue)] =
            alerts.count == 1
            ? [("alertname", .string(alerts[0].rule)), ("host", .string(alerts[0].host))] : []
        return .object([
            ("version", "4"),
            ("groupKey", .string("{}:{monquery}")),
            ("truncatedAlerts", 0),
            ("status", firing ? "firing" : "resolved"),
            ("receiver", "monquery"),
            ("groupLabels", .object([])),
            ("commonLabels", .object(common)),
            ("commonAnnotations", .object([])),
            ("externalURL", .string(externalURL)),
            ("alerts", .array(items)),
        ])
    }

    /// FNV-1a of the alert's identity: stable across restarts, like Alertmanager's.
    static func fingerprint(_ text: String) -> String {
        String(FNV1a.hash(text.utf8), radix: 16)
    }

}
