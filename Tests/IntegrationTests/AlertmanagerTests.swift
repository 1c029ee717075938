import Foundation
import MonCore
import Testing

/// monquery's Alertmanager notifier against a real Alertmanager (Debian 0.25, started in a
/// temp directory): a planted fault (a CPU hog against AlertTests' HogCPU rule) shows
/// in Alertmanager's `GET /api/v2/alerts` with our labels and annotations, its `endsAt`
/// moves ahead with each resend, and it is resolved there once the hog stops. A second
/// Alertmanager over HTTPS gets it too (its certificate checked against `tls.ca_file`); a
/// URL that nothing answers is retried, counted on /metrics and shown in /health/detailed,
/// without holding back the others.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test"))
struct AlertmanagerTests {
    @Test("a planted fault appears in Alertmanager with our labels and annotations, then resolves there")
    func plantedFault() async throws {
        let daemon = try Daemon.make()
        let alertmanager = try await AlertmanagerServer.start(
            directory: try TestEnvironment.makeDirectory("alertmanager"))
        defer { alertmanager.stop() }
        // A second one over HTTPS with a self-signed certificate: monquery trusts it through
        // alerts.alertmanager.tls.ca_file.
        let tlsDirectory = try TestEnvironment.makeDirectory("alertmanager-tls")
        let certificate = try await IngestTLSTests.Certificate.make(in: tlsDirectory, name: "alertmanager")
        let secure = try await AlertmanagerServer.start(
            directory: tlsDirectory, tls: (certificate.certificate, certificate.key))
        defer { secure.stop() }
        let rulesDirectory = "\(daemon.directory)/rules.d"
        try FileManager.default.createDirectory(atPath: rulesDirectory, withIntermediateDirectories: true)
        try AlertTests.rules.write(toFile: "\(rulesDirectory)/hog.yaml", atomically: true, encoding: .utf8)
        let tokenFile = "\(daemon.directory)/alertmanager.token"
        let token = "am-token-\(UInt64.random(in: 0...UInt64.max))"
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile))
        let deadPort = TestEnvironment.freePort()
        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.5",
            "MONQUERY_ALERTS_DEFAULT_RULES": "false", "MONQUERY_ALERTS_RULES_DIR": rulesDirectory,
            "MONQUERY_ALERTS_EXTERNAL_URL": "http://dashboard.example:8089/",
            "MONQUERY_ALERTS_ALERTMANAGER_URLS": "\(alertmanager.url),http://127.0.0.1:\(deadPort),\(secure.url)",
            "MONQUERY_ALERTS_ALERTMANAGER_TLS_CA_FILE": certificate.certificate,
            "MONQUERY_ALERTS_ALERTMANAGER_RESEND_SECONDS": "3",
            "MONQUERY_ALERTS_ALERTMANAGER_MAX_ATTEMPTS": "2",
            "MONQUERY_ALERTS_ALERTMANAGER_BEARER_TOKEN_FILE": tokenFile,
        ])
        defer { monquery.stop() }
        let agentConfig = "\(daemon.directory)/monagent.yaml"
        try "processes:\n  - name: hog\n    comm: [yes]\n".write(toFile: agentConfig, atomically: true, encoding: .utf8)
        let agent = try daemon.startAgent(
            interval: 0.5, host: "am-host", agentID: "am-agent", arguments: ["--config", agentConfig])
        defer { agent.stop() }
        _ = try await eventually("agent data flowing") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM ingest_ledger") > 2 ? true : nil
        }
        #expect(try await alertmanager.alerts().alerts.isEmpty, "nothing planted yet")

        // The fault: a CPU hog in the `hog` process group.
        let hog = try ManagedProcess(
            binary: "/bin/sh", arguments: ["-c", "exec yes > /dev/null"], environment: [:],
            logPath: "\(daemon.directory)/hog.log")
        defer { hog.stop(SIGKILL) }
        func hogAlert() async throws -> (alert: [String: Any], body: String)? {
            let (alerts, body) = try await alertmanager.alerts()
            guard let alert = alerts.first(where: { ($0["labels"] as? [String: String])?["alertname"] == "HogCPU" })
            else { return nil }
            return (alert, body)
        }
        let (firing, sample) = try await eventually("HogCPU in Alertmanager", seconds: 90) { try await hogAlert() }
        print("Alertmanager GET /api/v2/alerts while the hog runs: \(sample)")
        let labels = try #require(firing["labels"] as? [String: String])
        #expect(labels == ["alertname": "HogCPU", "severity": "warning", "host": "am-host", "group": "hog"])
        let annotations = try #require(firing["annotations"] as? [String: String])
        #expect(annotations["summary"]?.contains("hog group at") == true, "\(annotations)")
        #expect(annotations["summary"]?.contains("am-host") == true, "\(annotations)")
        #expect(annotations["description"] == "a runaway process: find it in /system/cpu and stop it")
        #expect(annotations["threshold"] == "0.3")
        #expect(
            firing["generatorURL"] as? String == "http://dashboard.example:8089/ui/monitoring/advanced?host=am-host")
        #expect((firing["status"] as? [String: Any])?["state"] as? String == "active")
        let firstEnd = try #require((firing["endsAt"] as? String).flatMap(Self.date))
        #expect(firstEnd > Date().addingTimeInterval(3), "a firing alert ends a few resends ahead: \(firstEnd)")
        #expect(!sample.contains(token), "the token is a header, never in the alert")
        // The HTTPS one (its certificate checked against the CA file) holds it too.
        let overTLS = try await eventually("HogCPU in the HTTPS Alertmanager", seconds: 30) { () -> [String: Any]? in
            try await secure.alerts().alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "HogCPU" }
        }
        #expect(overTLS["labels"] as? [String: String] == labels)

        // Sent again while it fires: Alertmanager sees its end move ahead.
        let laterEnd = try await eventually("HogCPU re-sent", seconds: 30) { () -> Date? in
            guard let end = (try await hogAlert()?.alert["endsAt"] as? String).flatMap(Self.date), end > firstEnd
            else { return nil }
            return end
        }

        // The fault stops: the resolution reaches Alertmanager before the last endsAt would.
        let lastEnd = max(laterEnd, (try await hogAlert()?.alert["endsAt"] as? String).flatMap(Self.date) ?? laterEnd)
        hog.stop(SIGKILL)
        _ = try await eventually("HogCPU resolved in Alertmanager", seconds: 60) { () -> Bool? in
            try await hogAlert() == nil ? true : nil
        }
        let resolvedAt = Date()
        _ = try await eventually("HogCPU resolved in the HTTPS Alertmanager", seconds: 30) { () -> Bool? in
            try await secure.alerts().alerts.isEmpty ? true : nil
        }
        #expect(resolvedAt < lastEnd, "resolved by our notification at \(resolvedAt), not expired at \(lastEnd)")
        let stored = try daemon.scalar("SELECT count(*) FROM alert_events WHERE rule = 'HogCPU' AND state = 'resolved'")
        #expect(stored > 0)
        print("Alertmanager GET /api/v2/alerts after the hog stopped: \(try await alertmanager.alerts().body)")

        // Deliveries: sent to the live Alertmanager; the dead one retried, counted, shown.
        let metrics = try await eventually("failed attempts counted") { () -> String? in
            let text = try await daemon.getText("/metrics").body
            return text.contains("mon_query_alert_notification_failures_total{notifier=\"alertmanager\"} 0")
                ? nil : text
        }
        let sent = metrics.split(separator: "\n").first {
            $0.hasPrefix("mon_query_alert_notifications_total{notifier=\"alertmanager\",outcome=\"sent\"}")
        }
        #expect(sent.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 3 } == true, "\(sent ?? "")")
        let (_, health) = try await daemon.get("/health/detailed")
        let check = try #require(
            ((health as? [String: Any])?["checks"] as? [String: Any])?["alert_notifications"] as? [String: Any])
        let targets = check["targets"] as? [[String: Any]] ?? []
        #expect(targets.count == 3, "\(check)")
        let dead = targets.first { ($0["target"] as? String)?.contains(":\(deadPort)/") == true }
        #expect((dead?["failed_attempts"] as? Double).map { $0 > 0 } == true, "\(check)")
        #expect(dead?["last_error"] is String, "\(check)")
        #expect(check["status"] as? String == "degraded", "\(check)")
        #expect(!monquery.log.contains(token), "the token never reaches the log")
    }

    @Test("the removed v1 API in alerts.alertmanager.urls stops check-config with exit 78, naming the key")
    func v1URLRefused() async throws {
        let binary = try #require(TestEnvironment.binDirectory).appending("/monquery")
        let (status, output) = try await runProgram(
            binary, ["check-config"],
            environment: [
                "MONQUERY_ALERTS_ALERTMANAGER_URLS": "http://127.0.0.1:9093/api/v1/alerts",
                "PATH": "/usr/bin:/bin",
            ])
        #expect(status == 78, "\(output)")
        #expect(output.contains("alerts.alertmanager.urls") && output.contains("0.27"), "\(output)")
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
