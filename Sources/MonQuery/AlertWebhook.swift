import Foundation
import Logging
import MonCore
import MonQueryKit

/// POSTs notifications in the Alertmanager webhook shape (version 4), so receivers and
/// chat bridges written for Alertmanager work unchanged. Failed posts are retried with
/// exponential backoff (1 s, 2 s, 4 s … up to `maxAttempts`), then dropped and counted
/// (`NotificationTarget`). `alerts.webhook_bearer_token_file` adds `Authorization: Bearer`;
/// credentials in the URL are sent as basic auth.
struct AlertWebhook: AlertNotifier {
    let target: NotificationTarget
    let externalURL: String

    init(
        url: URL, timeoutSeconds: Double = 10, maxAttempts: Int = 5, externalURL: String = "",
        security: WebhookSecurity? = nil, logger: Logger
    ) throws {
        var auth = security?.auth ?? NotifierAuth.none
        var url = url
        if var components = URLComponents(url: url, resolvingAgainstBaseURL: false), let user = components.user {
            if auth == .none { auth = .basic(username: user, password: components.password ?? "") }
            components.user = nil
            components.password = nil
            url = components.url ?? url
        }
        target = try NotificationTarget(
            notifier: "webhook", url: url, auth: auth, tls: security?.tls ?? TLSClientSettings(),
            timeoutSeconds: timeoutSeconds, maxAttempts: maxAttempts, logger: logger)
        self.externalURL = externalURL
    }

    /// Sends in the background; returns at once.
    func notify(_ alerts: [AlertEngine.Active]) async {
        guard !alerts.isEmpty else { return }
        let body = Array(AlertmanagerPayload.body(alerts, externalURL: externalURL).encoded().utf8)
        await target.enqueue(body, names: alerts.map { "\($0.rule)@\($0.host)" })
    }

    func deliveries() async -> [NotifierDeliveries] { [await target.counts] }
}
