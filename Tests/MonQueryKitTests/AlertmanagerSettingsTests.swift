import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

private func alerts(_ yaml: String, env: [String: String] = [:]) throws -> AlertSettings {
    let file = try TempFile(yaml, name: "monquery.yaml")
    defer { file.remove() }
    return try QueryConfig.load(path: file.path, environment: env).alerts
}

/// `alerts.alertmanager.*` and `alerts.webhook_bearer_token_file`: URLs, secrets from
/// files (never in an error), TLS keys; each mistake names its key.
@Suite struct AlertmanagerSettingsTests {
    @Test("a base URL becomes its /api/v2/alerts endpoint; the v2 endpoint itself is kept")
    func endpoints() throws {
        let settings = try #require(
            try alerts(
                """
                alerts:
                  alertmanager:
                    urls: [http://127.0.0.1:9093, "https://am.example/prefix/", "http://[::1]:9093/api/v2/alerts"]
                """
            ).alertmanager)
        #expect(
            settings.endpoints.map(\.absoluteString) == [
                "http://127.0.0.1:9093/api/v2/alerts", "https://am.example/prefix/api/v2/alerts",
                "http://[::1]:9093/api/v2/alerts",
            ])
        #expect(settings.resendSeconds == 60 && settings.maxAttempts == 5 && settings.timeoutSeconds == 10)
        #expect(settings.auth == .none && settings.tls.insecureSkipVerify == false)
        #expect(try alerts("alerts:\n  enabled: true\n").alertmanager == nil)
        let fromEnv = try alerts(
            "", env: ["MONQUERY_ALERTS_ALERTMANAGER_URLS": "http://a:9093,http://b:9093"]
        ).alertmanager
        #expect(fromEnv?.endpoints.count == 2)
    }

    @Test("the removed v1 API, a non-http URL or credentials in the URL are refused, naming the key")
    func badURLs() throws {
        for (url, words) in [
            ("http://127.0.0.1:9093/api/v1/alerts", "removed in 0.27"), ("ftp://am:21", "not an http(s) URL"),
            ("http://user:hunter2@am:9093", "basic_auth"),
        ] {
            let error = #expect(throws: ConfigError.self) {
                try alerts("alerts:\n  alertmanager:\n    urls: [\"\(url)\"]\n")
            }
            #expect(error?.key == "alerts.alertmanager.urls")
            #expect(error?.message.contains(words) == true, "\(String(describing: error))")
            #expect(error?.description.contains("hunter2") == false)
        }
    }

    @Test("bearer token and basic auth come from files; their content never shows in an error")
    func secrets() throws {
        let token = try TempFile("s3cret-token\n", name: "token")
        defer { token.remove() }
        let password = try TempFile("pa55word", name: "password")
        defer { password.remove() }
        let bearer = try alerts(
            "alerts:\n  alertmanager:\n    urls: [http://am:9093]\n    bearer_token_file: \(token.path)\n")
        #expect(bearer.alertmanager?.auth == .bearer("s3cret-token"))
        #expect(bearer.alertmanager?.auth.header == "Bearer s3cret-token")
        #expect(bearer.alertmanager?.auth.kind == "bearer token")
        let basic = try alerts(
            """
            alerts:
              alertmanager:
                urls: [http://am:9093]
                basic_auth: {username: mon, password_file: \(password.path)}
            """)
        #expect(basic.alertmanager?.auth.header == "Basic " + Data("mon:pa55word".utf8).base64EncodedString())
        let both = #expect(throws: ConfigError.self) {
            try alerts(
                """
                alerts:
                  alertmanager:
                    urls: [http://am:9093]
                    bearer_token_file: \(token.path)
                    basic_auth: {username: mon, password_file: \(password.path)}
                """)
        }
        #expect(both?.key == "alerts.alertmanager.bearer_token_file")
        let noUser = #expect(throws: ConfigError.self) {
            try alerts("alerts:\n  alertmanager:\n    basic_auth: {password_file: \(password.path)}\n")
        }
        #expect(noUser?.key == "alerts.alertmanager.basic_auth.username")
        let missing = #expect(throws: ConfigError.self) {
            try alerts("alerts:\n  webhook_bearer_token_file: /nonexistent/token\n")
        }
        #expect(missing?.key == "alerts.webhook_bearer_token_file")
        let twoLines = try TempFile("a\nb\n", name: "token2")
        defer { twoLines.remove() }
        let split = #expect(throws: ConfigError.self) {
            try alerts("alerts:\n  webhook_bearer_token_file: \(twoLines.path)\n")
        }
        #expect(split?.description.contains("more than one line") == true)
        #expect(
            try alerts("alerts:\n  webhook_bearer_token_file: \(token.path)\n").webhookSecurity.auth
                == .bearer("s3cret-token"))
    }

    @Test("TLS keys: a client certificate needs its key; insecure_skip_verify is off unless set")
    func tls() throws {
        let settings = try #require(
            try alerts(
                """
                alerts:
                  alertmanager:
                    urls: [https://am:9093]
                    tls: {ca_file: /etc/ca.pem, certificate_file: /c.pem, key_file: /k.pem, insecure_skip_verify: true}
                """
            ).alertmanager)
        #expect(settings.tls.caFile == "/etc/ca.pem" && settings.tls.certificate?.key == "/k.pem")
        #expect(settings.tls.insecureSkipVerify && settings.tls.prefix == "alerts.alertmanager.tls")
        let error = #expect(throws: ConfigError.self) {
            try alerts("alerts:\n  alertmanager:\n    tls: {certificate_file: /c.pem}\n")
        }
        #expect(error?.key == "alerts.alertmanager.tls.key_file")
        let typo = #expect(throws: ConfigError.self) {
            try alerts("alerts:\n  alertmanager:\n    url: http://am:9093\n")
        }
        #expect(typo?.key == "alerts.alertmanager.url")
    }

    @Test("the v2 body: a bare array; labels from the rule and host; endsAt ahead while firing, at resolution after")
    func v2Body() throws {
        let firing = AlertEngine.Active(
            rule: "HostCPUHigh", host: "web 1&2", severity: .warning, state: .firing, sinceMs: 1_000,
            firingSinceMs: 61_000, value: 93.5, threshold: 80, summary: "CPU 93.5 %", hint: "see /system/cpu")
        var resolved = firing
        resolved.rule = "RedisMemoryHigh"
        resolved.state = .resolved
        let body = AlertmanagerPayload.v2(
            [firing, resolved], ruleLabels: ["HostCPUHigh": ["cpu": "all", "host": "shadowed"]],
            externalURL: "https://mon.example/", firingEndsMs: 500_000, nowMs: 200_000)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(body.encoded().utf8)) as? [[String: Any]])
        #expect(json.count == 2)
        let labels = json[0]["labels"] as? [String: String]
        #expect(labels == ["alertname": "HostCPUHigh", "severity": "warning", "host": "web 1&2", "cpu": "all"])
        let annotations = json[0]["annotations"] as? [String: String]
        #expect(annotations?["summary"] == "CPU 93.5 %" && annotations?["description"] == "see /system/cpu")
        #expect(annotations?["value"] == "93.50" && annotations?["threshold"] == "80")
        #expect(json[0]["startsAt"] as? String == Timestamp.iso8601(ms: 61_000))
        #expect(json[0]["endsAt"] as? String == Timestamp.iso8601(ms: 500_000))
        #expect(json[1]["endsAt"] as? String == Timestamp.iso8601(ms: 200_000))
        #expect(
            json[0]["generatorURL"] as? String == "https://mon.example/ui/monitoring/advanced?host=web%201%262")
        #expect((json[1]["labels"] as? [String: String])?["cpu"] == nil)
    }
}
