import Foundation
import Logging
import MonCore
import MonQueryKit
import Synchronization
import Testing

/// `QueryConfig.reloadPlan`: what a SIGHUP applies in place, what waits for a restart.
@Suite struct QueryReloadTests {
    static let viewerA = "a:" + SHA256.hex(Array("token-a".utf8))
    static let viewerB = "b:" + SHA256.hex(Array("token-b".utf8))

    static func config(
        threshold: Double = 90, listen: String = "127.0.0.1:8089", viewers: [String] = [viewerA],
        level: String = "info", alertsExtra: String = "", extra: String = ""
    ) throws -> QueryConfig {
        let tokens = viewers.isEmpty ? "" : "auth:\n  viewer_tokens: [\(viewers.joined(separator: ", "))]\n"
        let yaml = """
            log_level: \(level)
            http:
              listen: "\(listen)"
            alerts:
              default_rules: false
              rules_dir: /nonexistent-rules-\(UUID().uuidString)
              rules:
                - name: Hot
                  metric: mon_host_cpu_usage_ratio
                  aggregate: last
                  op: ">"
                  threshold: \(threshold)
                  severity: warning
                  summary: hot
            \(alertsExtra)\(tokens)\(extra)
            """
        return try QueryConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONQUERY", environment: [:]))
    }

    static func targets(level: (@Sendable (Logger.Level) -> Void)? = nil) throws -> QueryReloadTargets {
        QueryReloadTargets(alerts: nil, tokens: LiveAuthenticator(try config().auth), applyLogLevel: level)
    }

    @Test("nothing changed: an empty plan")
    func unchanged() throws {
        let plan = try Self.config().reloadPlan(to: try Self.config(), targets: try Self.targets())
        #expect(plan.changes.isEmpty)
    }

    @Test("a new viewer token replaces the old one in the live set")
    func tokens() async throws {
        let targets = try Self.targets()
        let plan = try Self.config().reloadPlan(to: try Self.config(viewers: [Self.viewerB]), targets: targets)
        #expect(plan.changes.applied == ["auth.viewer_tokens/admin_tokens"])
        #expect(plan.changes.needsRestart.isEmpty)
        #expect(targets.tokens.current.match(token: "token-a") != nil, "nothing applied before apply()")
        await plan.apply()
        #expect(targets.tokens.current.match(token: "token-a") == nil)
        #expect(targets.tokens.current.match(token: "token-b")?.role == .viewer)
        #expect(plan.effective.auth == (try Self.config(viewers: [Self.viewerB])).auth)
    }

    @Test("removing every token (authentication off) needs a restart; the tokens stay")
    func authenticationOff() async throws {
        let targets = try Self.targets()
        let plan = try Self.config().reloadPlan(to: try Self.config(viewers: []), targets: targets)
        #expect(plan.changes.applied.isEmpty)
        #expect(plan.changes.needsRestart == ["auth.viewer_tokens/admin_tokens"])
        await plan.apply()
        #expect(targets.tokens.current.match(token: "token-a") != nil)
    }

    @Test("a listen address needs a restart and keeps its running value, reported again next time")
    func listenNeedsRestart() throws {
        let running = try Self.config()
        let new = try Self.config(listen: "127.0.0.1:9999")
        let plan = try running.reloadPlan(to: new, targets: try Self.targets())
        #expect(plan.changes.needsRestart == ["http.listen"])
        #expect(plan.effective.httpPort == 8089)
        let again = try plan.effective.reloadPlan(to: new, targets: try Self.targets())
        #expect(again.changes.needsRestart == ["http.listen"])
    }

    @Test("restart-only keys are named: database, socket, retention, alert interval")
    func restartKeys() throws {
        let new = try Self.config(
            extra: """
                database:
                  url: postgresql:///other
                ingest:
                  socket: /tmp/other.sock
                storage:
                  logs_retention_days: 3
                """)
        let plan = try Self.config().reloadPlan(to: new, targets: try Self.targets())
        #expect(plan.changes.needsRestart == ["database.url", "ingest.socket", "storage.logs_retention_days"])
        #expect(plan.changes.applied.isEmpty)
    }

    @Test("a changed threshold is an applied rule change (with the evaluator) or waits for a restart (alerts off)")
    func rules() throws {
        let plan = try Self.config().reloadPlan(to: try Self.config(threshold: 50), targets: try Self.targets())
        // No evaluator (alerting off at start): the rules cannot be put in force.
        #expect(plan.changes.needsRestart == ["alerts.rules"])
        #expect(plan.effective.alerts.rules.first?.threshold == 90)
    }

    @Test("log.level (or the older log_level) applies through the injected control, or needs a restart without one")
    func logLevel() async throws {
        let without = try Self.config().reloadPlan(to: try Self.config(level: "debug"), targets: try Self.targets())
        #expect(without.changes.needsRestart == ["log.level"])
        let applied = Mutex<Logger.Level?>(nil)
        let with = try Self.config().reloadPlan(
            to: try Self.config(level: "debug"), targets: try Self.targets { level in applied.withLock { $0 = level } })
        #expect(with.changes.applied == ["log.level"])
        #expect(applied.withLock { $0 } == nil)
        await with.apply()
        #expect(applied.withLock { $0 } == .debug)
        #expect(with.effective.log.level == .debug)
    }

    @Test("the notifiers' settings and log.format are named as needing a restart, never dropped silently")
    func notifierAndFormatNeedRestart() throws {
        let alertmanager = "  alertmanager:\n    urls: [\"http://127.0.0.1:9093\"]\n"
        let plan = try Self.config().reloadPlan(
            to: try Self.config(alertsExtra: alertmanager, extra: "log:\n  format: json\n"),
            targets: try Self.targets())
        #expect(plan.changes.needsRestart.contains("alerts.alertmanager"))
        #expect(plan.changes.needsRestart.contains("log.format"))
        #expect(plan.effective.alerts.alertmanager == nil)
        #expect(plan.changes.applied.isEmpty)
    }

    @Test("any other changed key of the file is named as needing a restart, by its own name")
    func everyOtherKeyNeedsRestart() throws {
        // Keys no hand-written list names: a new key of the daemon is covered the day it is added.
        let new = try Self.config(
            extra: "http.response_cache_ms: 0\nanomalies:\n  enabled: false\nui:\n  secure_cookie: true\n")
        let plan = try Self.config().reloadPlan(to: new, targets: try Self.targets())
        #expect(plan.changes.needsRestart == ["anomalies.enabled", "http.response_cache_ms", "ui.secure_cookie"])
        #expect(plan.effective.uiSecureCookie == false)
        #expect(plan.changes.applied.isEmpty)
        // A key removed from the file (back to its default) is a change too.
        let back = try new.reloadPlan(to: try Self.config(), targets: try Self.targets())
        #expect(back.changes.needsRestart == ["anomalies.enabled", "http.response_cache_ms", "ui.secure_cookie"])
    }

    @Test("a certificate that cannot be read refuses the plan before anything applies")
    func certificateFailure() throws {
        let files = "http.tls.certificate_file: /c.pem\nhttp.tls.key_file: /k.pem\n"
        let running = try Self.config(extra: files)
        var targets = try Self.targets()
        targets.httpCertificate = { _ in throw ConfigError(key: "http.tls.certificate_file", message: "unreadable") }
        let new = try Self.config(viewers: [Self.viewerB], extra: files)
        #expect(throws: ConfigError.self) { try running.reloadPlan(to: new, targets: targets) }
        #expect(targets.tokens.current.match(token: "token-a") != nil)
    }
}

/// `AlertEvaluator.replaceRules`: the rules a reload puts in force (no database needed).
@Suite struct AlertRulesReplaceTests {
    @Test("the evaluator answers with the replaced rules and forgets the failures of removed ones")
    func replace() async throws {
        let old = try QueryReloadTests.config().alerts.rules
        let new = try QueryReloadTests.config(threshold: 50).alerts.rules
        let evaluator = AlertEvaluator(
            rules: old, store: QueryStore(databaseURL: "postgresql://127.0.0.1:1/none"),
            alerts: AlertStore(databaseURL: "postgresql://127.0.0.1:1/none"), cache: LastValueCache(),
            stats: IngestStats(), webhook: nil, logger: Logger(label: "test"))
        #expect(evaluator.rules.first?.threshold == 90)
        await evaluator.replaceRules(new)
        #expect(evaluator.rules.first?.threshold == 50)
        await evaluator.replaceRules([])
        #expect(evaluator.rules.isEmpty)
    }
}
