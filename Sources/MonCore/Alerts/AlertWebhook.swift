import Foundation
import Logging

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// POSTs notifications in the Alertmanager webhook shape (version 4), so receivers and
/// chat bridges written for Alertmanager work unchanged. Failed posts are retried with
/// exponential backoff (1 s, 2 s, 4 s … up to `maxAttempts`), then dropped and counted.
public actor AlertWebhook {
    let url: URL
    let timeoutSeconds: Double
    let maxAttempts: Int
    let externalURL: String
    let logger: Logger
    public private(set) var sent = 0
    public private(set) var failed = 0

    public init(url: URL, timeoutSeconds: Double = 10, maxAttempts: Int = 5, externalURL: String = "", logger: Logger) {
        self.url = url
        self.timeoutSeconds = timeoutSeconds
        self.maxAttempts = maxAttempts
        self.externalURL = externalURL
        self.logger = logger
    }

    /// The Alertmanager webhook body for these alerts (one group per call).
    public static func payload(_ alerts: [AlertEngine.Active], externalURL: String) -> JSONValue {
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
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Sends in the background; returns at once.
    public func notify(_ alerts: [AlertEngine.Active]) {
        guard !alerts.isEmpty else { return }
        let body = Data(Self.payload(alerts, externalURL: externalURL).encoded().utf8)
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
