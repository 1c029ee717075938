import Foundation
import Logging
import MonCore
import MonQueryKit

/// Posts alerts to Alertmanager's v2 API (`POST /api/v2/alerts`, a bare array), to every
/// configured Alertmanager: a firing alert when it fires and again every `resend_seconds`
/// while it fires (Alertmanager forgets an alert past its `endsAt`, as it expects from
/// Prometheus), a resolved one once with `endsAt` at its resolution. Each post is retried
/// with backoff, then dropped and counted (`NotificationTarget`).
actor AlertmanagerNotifier: AlertNotifier {
    let targets: [NotificationTarget]
    let settings: AlertmanagerSettings
    /// The rules' `labels:` filters, added to the alerts' labels.
    let ruleLabels: [String: [String: String]]
    let externalURL: String
    /// How far ahead a firing alert's `endsAt` is: four resends or four evaluations.
    let firingLifetimeMs: Int64
    private var lastResendMs: Int64?

    init(
        settings: AlertmanagerSettings, rules: [AlertRule], evaluationSeconds: Double, externalURL: String,
        logger: Logger
    ) throws {
        targets = try settings.endpoints.map {
            try NotificationTarget(
                notifier: "alertmanager", url: $0, auth: settings.auth, tls: settings.tls,
                timeoutSeconds: settings.timeoutSeconds, maxAttempts: settings.maxAttempts, logger: logger)
        }
        self.settings = settings
        var labels: [String: [String: String]] = [:]
        for rule in rules {
            if case .metric(_, let filter, _) = rule.signal, !filter.isEmpty { labels[rule.name] = filter }
        }
        ruleLabels = labels
        self.externalURL = externalURL
        firingLifetimeMs = Int64(4 * max(settings.resendSeconds, evaluationSeconds) * 1000)
    }

    /// Newly firing and resolved alerts (and firing ones at the rule's `repeat`), at once.
    func notify(_ alerts: [AlertEngine.Active]) async {
        await send(alerts, nowMs: WallClock.nowMs())
    }

    /// Every firing alert again once `resend_seconds` have passed since the last resend.
    func evaluated(firing: [AlertEngine.Active], nowMs: Int64) async {
        if let last = lastResendMs, Double(nowMs - last) < settings.resendSeconds * 1000 { return }
        lastResendMs = nowMs
        await send(firing, nowMs: nowMs)
    }

    private func send(_ alerts: [AlertEngine.Active], nowMs: Int64) async {
        guard !alerts.isEmpty else { return }
        let body = Array(
            AlertmanagerPayload.v2(
                alerts, ruleLabels: ruleLabels, externalURL: externalURL, firingEndsMs: nowMs + firingLifetimeMs,
                nowMs: nowMs
            ).encoded().utf8)
        let names = alerts.map { "\($0.rule)@\($0.host)" }
        for target in targets { await target.enqueue(body, names: names) }
    }

    func deliveries() async -> [NotifierDeliveries] {
        var out: [NotifierDeliveries] = []
        for target in targets { out.append(await target.counts) }
        return out
    }
}
