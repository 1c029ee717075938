import Foundation
import MonCore

/// Where the evaluator sends notifications about alert transitions. MonCore only builds
/// the body (`AlertmanagerPayload`); the sender lives in monquery, so the agent binary does
/// not link an HTTP client (FoundationNetworking, libcurl) it never uses.
public protocol AlertNotifier: Sendable {
    /// Sends in the background; returns at once.
    func notify(_ alerts: [AlertEngine.Active]) async
    /// After each evaluation pass of the holder of the alerts lease: every firing alert, for
    /// a notifier that sends them again periodically (Alertmanager). Returns at once.
    func evaluated(firing: [AlertEngine.Active], nowMs: Int64) async
    /// What each target of this notifier has received so far (`/metrics`, `/health/detailed`).
    func deliveries() async -> [NotifierDeliveries]
}

extension AlertNotifier {
    public func evaluated(firing: [AlertEngine.Active], nowMs: Int64) async {}
}

/// One notification target's counts: posts answered 2xx, failed attempts (each retried
/// with backoff, or the last one), notifications dropped after the last attempt.
public struct NotifierDeliveries: Sendable, Equatable {
    /// `webhook` or `alertmanager`.
    public var notifier: String
    /// The URL posted to, credentials removed.
    public var target: String
    public var sent = 0
    public var failedAttempts = 0
    public var dropped = 0
    public var lastSentMs: Int64?
    public var lastFailureMs: Int64?
    /// Why the last attempt failed (a status or a connection error; never a header).
    public var lastError: String?

    public init(notifier: String, target: String) {
        self.notifier = notifier
        self.target = target
    }

    /// True while the last attempt failed (the target is unreachable or refusing).
    public var failing: Bool { (lastFailureMs ?? Int64.min) > (lastSentMs ?? Int64.min) }
}

/// Several notifiers (webhook, Alertmanager) as one.
public struct AlertNotifiers: AlertNotifier {
    public let all: [any AlertNotifier]

    public init(_ all: [any AlertNotifier]) { self.all = all }

    public func notify(_ alerts: [AlertEngine.Active]) async {
        for notifier in all { await notifier.notify(alerts) }
    }

    public func evaluated(firing: [AlertEngine.Active], nowMs: Int64) async {
        for notifier in all { await notifier.evaluated(firing: firing, nowMs: nowMs) }
    }

    public func deliveries() async -> [NotifierDeliveries] {
        var out: [NotifierDeliveries] = []
        for notifier in all { out += await notifier.deliveries() }
        return out
    }
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

    /// The body of Alertmanager's `POST /api/v2/alerts`: a bare array of alerts. Labels
    /// (the alert's identity there): `alertname` (the rule), `severity`, `host`, and the
    /// rule's own `labels:` filter (e.g. `cpu: all`), fixed per rule so an alert keeps one
    /// identity. Annotations: `summary`, `description` (the hint, also as `hint`), `value`,
    /// `threshold`. A firing alert ends at `firingEndsMs` unless sent again; a resolved
    /// one at `nowMs`. `generatorURL`: the dashboard of the host under `externalURL`.
    public static func v2(
        _ alerts: [AlertEngine.Active], ruleLabels: [String: [String: String]], externalURL: String,
        firingEndsMs: Int64, nowMs: Int64
    ) -> JSONValue {
        .array(
            alerts.map { alert in
                let resolved = alert.state == .resolved
                var labels: [(String, JSONValue)] = (ruleLabels[alert.rule] ?? [:]).sorted { $0.key < $1.key }
                    .filter { !["alertname", "severity", "host"].contains($0.key) }.map { ($0.key, .string($0.value)) }
                labels =
                    [
                        ("alertname", .string(alert.rule)), ("severity", .string(alert.severity.rawValue)),
                        ("host", .string(alert.host)),
                    ] + labels
                return .object([
                    ("labels", .object(labels)),
                    (
                        "annotations",
                        .object([
                            ("summary", .string(alert.summary)), ("description", .string(alert.hint)),
                            ("hint", .string(alert.hint)), ("value", .string(AlertRule.number(alert.value))),
                            ("threshold", .string(Thresholds.text(alert.threshold))),
                        ])
                    ),
                    ("startsAt", .string(Timestamp.iso8601(ms: alert.firingSinceMs ?? alert.sinceMs))),
                    ("endsAt", .string(Timestamp.iso8601(ms: resolved ? nowMs : firingEndsMs))),
                    ("generatorURL", .string(dashboardURL(externalURL, host: alert.host))),
                ])
            })
    }

    /// The dashboard of one host under `externalURL` (the daemon's base URL).
    public static func dashboardURL(_ externalURL: String, host: String) -> String {
        guard !externalURL.isEmpty else { return "" }
        var base = externalURL
        while base.hasSuffix("/") { base.removeLast() }
        let encoded = host.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? host
        return "\(base)/ui/monitoring/advanced?host=\(encoded)"
    }

    /// FNV-1a of the alert's identity: stable across restarts, like Alertmanager's.
    static func fingerprint(_ text: String) -> String {
        String(FNV1a.hash(text.utf8), radix: 16)
    }

}

extension CharacterSet {
    /// What may stand unescaped in a query value (`&`, `=`, `+`, `#` escaped).
    fileprivate static let urlQueryValueAllowed = CharacterSet.urlQueryAllowed.subtracting(
        CharacterSet(charactersIn: "&=+#"))
}
