import MonCore

/// The state machine of every (rule, host): inactive → pending → firing → resolved.
///
/// Pure: given each rule's values per host at a time, it says which transitions happened
/// and which alerts to (re)notify. Storage, signals and the webhook are elsewhere.
public struct AlertEngine: Sendable {
    public enum State: String, Sendable {
        case pending, firing, resolved, inactive
    }

    public struct Active: Sendable, Equatable {
        public var rule: String
        public var host: String
        public var severity: AlertRule.Severity
        public var state: State
        /// When the condition first held (pending), and when it fired.
        public var sinceMs: Int64
        public var firingSinceMs: Int64?
        public var value: Double
        public var threshold: Double
        public var summary: String
        public var hint: String
        public var lastNotifiedMs: Int64?

        public init(
            rule: String, host: String, severity: AlertRule.Severity, state: State, sinceMs: Int64,
            firingSinceMs: Int64? = nil, value: Double, threshold: Double, summary: String, hint: String,
            lastNotifiedMs: Int64? = nil
        ) {
            self.rule = rule
            self.host = host
            self.severity = severity
            self.state = state
            self.sinceMs = sinceMs
            self.firingSinceMs = firingSinceMs
            self.value = value
            self.threshold = threshold
            self.summary = summary
            self.hint = hint
            self.lastNotifiedMs = lastNotifiedMs
        }
    }

    public struct Transition: Sendable, Equatable {
        public var timestampMs: Int64
        public var rule: String
        public var host: String
        public var severity: AlertRule.Severity
        public var state: State
        public var value: Double
        public var threshold: Double
        public var summary: String
        public var hint: String
    }

    /// Pending and firing alerts by rule and host.
    public private(set) var active: [String: Active] = [:]

    public init() {}

    static func key(_ rule: String, _ host: String) -> String { rule + "\u{0}" + host }

    /// Puts back an alert that was firing before a restart (no new transition, no notification).
    public mutating func restore(_ alert: Active) {
        active[Self.key(alert.rule, alert.host)] = alert
    }

    /// Applies one evaluation of `rule`; returns the transitions and the alerts to notify
    /// (newly firing, resolved, or firing past the repeat interval). `labels` are the
    /// `{{labels}}` text per host (the series that gave the host's value), `details` fill
    /// the summary's `{{detail}}` per host.
    public mutating func evaluate(
        _ rule: AlertRule, values: [String: Double], labels: [String: String] = [:],
        details: [String: String] = [:], nowMs: Int64
    ) -> (
        transitions: [Transition], notify: [Active]
    ) {
        var transitions: [Transition] = []
        var notify: [Active] = []
        func transition(_ alert: Active, _ state: State) {
            transitions.append(
                Transition(
                    timestampMs: nowMs, rule: alert.rule, host: alert.host, severity: alert.severity, state: state,
                    value: alert.value, threshold: alert.threshold, summary: alert.summary, hint: alert.hint))
        }
        for (host, value) in values.sorted(by: { $0.key < $1.key }) {
            let key = Self.key(rule.name, host)
            let holds = rule.comparison.holds(value, rule.threshold)
            guard var alert = active[key] else {
                guard holds else { continue }
                var alert = Active(
                    rule: rule.name, host: host, severity: rule.severity, state: .pending, sinceMs: nowMs,
                    value: value, threshold: rule.threshold,
                    summary: rule.render(
                        value: value, host: host, labels: labels[host] ?? "", detail: details[host] ?? ""),
                    hint: rule.hint)
                transition(alert, .pending)
                if rule.forSeconds == 0 {
                    alert.state = .firing
                    alert.firingSinceMs = nowMs
                    alert.lastNotifiedMs = nowMs
                    transition(alert, .firing)
                    notify.append(alert)
                }
                active[key] = alert
                continue
            }
            alert.value = value
            alert.summary = rule.render(
                value: value, host: host, labels: labels[host] ?? "", detail: details[host] ?? "")
            switch alert.state {
            case .pending:
                if !holds {
                    active[key] = nil
                    transition(alert, .inactive)
                    continue
                }
                if nowMs - alert.sinceMs >= rule.forSeconds * 1000 {
                    alert.state = .firing
                    alert.firingSinceMs = nowMs
                    alert.lastNotifiedMs = nowMs
                    transition(alert, .firing)
                    notify.append(alert)
                }
                active[key] = alert
            case .firing:
                if rule.comparison.resolved(value, rule.resolveThreshold) {
                    active[key] = nil
                    alert.state = .resolved
                    transition(alert, .resolved)
                    notify.append(alert)
                    continue
                }
                if let last = alert.lastNotifiedMs, nowMs - last >= rule.repeatSeconds * 1000 {
                    alert.lastNotifiedMs = nowMs
                    notify.append(alert)
                }
                active[key] = alert
            case .resolved, .inactive:
                active[key] = nil
            }
        }
        // A pending alert whose host has no value any more is dropped; a firing one stays
        // firing (no data is not recovery).
        for (key, alert) in active where alert.rule == rule.name && values[alert.host] == nil && alert.state == .pending
        {
            active[key] = nil
            transition(alert, .inactive)
        }
        return (transitions, notify)
    }

    /// True when `rule` holds for one of `values` or has a pending or firing alert: its
    /// summary will be rendered, so its details are worth reading.
    public func needsDetails(_ rule: AlertRule, values: [String: Double]) -> Bool {
        values.values.contains { rule.comparison.holds($0, rule.threshold) }
            || active.values.contains { $0.rule == rule.name }
    }

    /// Ends the alerts of rules that no longer exist (a reload removed them): a firing one
    /// resolves (stored and notified, so Alertmanager and the webhook's receiver close it
    /// instead of waiting for it to expire), a pending one becomes inactive (stored only).
    public mutating func retire(keeping rules: Set<String>, nowMs: Int64) -> (
        transitions: [Transition], notify: [Active]
    ) {
        var transitions: [Transition] = []
        var notify: [Active] = []
        for (key, alert) in active.sorted(by: { $0.key < $1.key }) where !rules.contains(alert.rule) {
            active[key] = nil
            var ended = alert
            ended.state = alert.state == .firing ? .resolved : .inactive
            transitions.append(
                Transition(
                    timestampMs: nowMs, rule: ended.rule, host: ended.host, severity: ended.severity,
                    state: ended.state, value: ended.value, threshold: ended.threshold, summary: ended.summary,
                    hint: ended.hint))
            if ended.state == .resolved { notify.append(ended) }
        }
        return (transitions, notify)
    }
}
