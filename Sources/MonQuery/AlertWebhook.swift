import Foundation
import Logging
import MonCore
import MonQueryKit

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// POSTs notifications in the Alertmanager webhook shape (version 4), so receivers and
/// chat bridges written for Alertmanager work unchanged. Failed posts are retried with
/// exponential backoff (1 s, 2 s, 4 s … up to `maxAttempts`), then dropped and counted.
actor AlertWebhook: AlertNotifier {
    let url: URL
    let timeoutSeconds: Double
    let maxAttempts: Int
    let externalURL: String
    let logger: Logger
    private(set) var sent = 0
    private(set) var failed = 0

    init(url: URL, timeoutSeconds: Double = 10, maxAttempts: Int = 5, externalURL: String = "", logger: Logger) {
        self.url = url
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
        self.externalURL = externalURL
        self.logger = logger
    }

    /// Sends in the background; returns at once.
    func notify(_ alerts: [AlertEngine.Active]) {
        guard !alerts.isEmpty else { return }
        let body = Data(AlertmanagerPayload.body(alerts, externalURL: externalURL).encoded().utf8)
        Task { await self.deliver(body, names: alerts.map { "\($0.rule)@\($0.host)" }) }
    }

    private func deliver(_ body: Data, names: [String]) async {
        var delay = 1.0
        for attempt in 1...maxAttempts {
            var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = body
            do {
                let (_, response) = try await URLSession.shared.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) {
                    sent += 1
                    return
                }
                logger.warning(
                    "alert webhook answered an error",
                    metadata: [
                        "status": "\(status)", "attempt": "\(attempt)", "alerts": "\(names.joined(separator: ","))",
                    ])
            } catch {
                logger.warning(
                    "alert webhook unreachable",
                    metadata: [
                        "error": "\(error)", "attempt": "\(attempt)", "alerts": "\(names.joined(separator: ","))",
                    ])
            }
            if attempt < maxAttempts {
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 60)
            }
        }
        failed += 1
        logger.error(
            "alert notification dropped after retries", metadata: ["alerts": "\(names.joined(separator: ","))"])
    }
}
