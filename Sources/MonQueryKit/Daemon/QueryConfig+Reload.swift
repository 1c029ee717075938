import Logging
import MonCore

/// What a configuration reload of monquery (SIGHUP) puts in force in the running daemon.
public struct QueryReloadTargets: Sendable {
    /// The alert evaluator (nil when alerting is off): `alerts.rules` and the rule files.
    public var alerts: AlertEvaluator?
    /// `auth.viewer_tokens`, `auth.admin_tokens`.
    public var tokens: LiveAuthenticator
    /// `http.tls.*` (nil: served over plain HTTP).
    public var httpCertificate: CertificateReloader?
    /// `ingest.tls.*` (nil: no TCP ingest).
    public var ingestCertificate: CertificateReloader?
    /// `log.level` (`LogLevelControl.shared.set`); nil: the level needs a restart.
    public var applyLogLevel: (@Sendable (Logger.Level) -> Void)?

    public init(
        alerts: AlertEvaluator?, tokens: LiveAuthenticator, httpCertificate: CertificateReloader? = nil,
        ingestCertificate: CertificateReloader? = nil, applyLogLevel: (@Sendable (Logger.Level) -> Void)? = nil
    ) {
        self.alerts = alerts
        self.tokens = tokens
        self.httpCertificate = httpCertificate
        self.ingestCertificate = ingestCertificate
        self.applyLogLevel = applyLogLevel
    }
}

extension QueryConfig {
    /// The reload from `self` (in force) to `new` (read and validated): alert rules, API
    /// tokens, TLS certificates (re-read even from unchanged paths: a renewed certificate) and
    /// the log level apply in place; every other changed key is reported as needing a restart
    /// and keeps its running value. Throws, changing nothing, when a certificate cannot be read.
    public func reloadPlan(to new: QueryConfig, targets: QueryReloadTargets) throws
        -> ConfigReloader<QueryConfig>
        .Plan
    {
        var changes = restartChanges(to: new)
        var effective = self
        var actions: [@Sendable () async -> Void] = []

        let rulesApply = targets.alerts != nil && alerts.enabled == new.alerts.enabled
        changes.compare("alerts.rules", alerts.rules, new.alerts.rules, reloadable: rulesApply)
        if rulesApply, alerts.rules != new.alerts.rules, let evaluator = targets.alerts {
            let rules = new.alerts.rules
            effective.alerts.rules = rules
            actions.append { await evaluator.replaceRules(rules) }
        }

        // Turning authentication on or off changes who may reach what: a restart (with the
        // start-up checks), never a reload.
        let tokensApply = auth.isEnabled == new.auth.isEnabled
        changes.compare("auth.viewer_tokens/admin_tokens", auth, new.auth, reloadable: tokensApply)
        if tokensApply, auth != new.auth {
            let tokens = new.auth
            effective.auth = tokens
            actions.append { [live = targets.tokens] in live.replace(tokens) }
        }

        for (old, fresh, reloader) in [
            (httpTLS, new.httpTLS, targets.httpCertificate),
            (ingestTCP?.tls, new.ingestTCP?.tls, targets.ingestCertificate),
        ] {
            guard let old, let fresh, let reloader else { continue }
            let reload = try reloader(fresh)
            if reload.changed || old != fresh { changes.apply("\(fresh.prefix).certificate_file/key_file") }
            actions.append { reload.apply() }
        }
        if httpTLS != nil, let fresh = new.httpTLS { effective.httpTLS = fresh }
        if ingestTCP != nil, let fresh = new.ingestTCP?.tls { effective.ingestTCP?.tls = fresh }

        let levelApplies = targets.applyLogLevel != nil
        changes.compare("log.level", log.level, new.log.level, reloadable: levelApplies)
        if levelApplies, log.level != new.log.level, let applyLogLevel = targets.applyLogLevel {
            let level = new.log.level
            effective.log.level = level
            actions.append { applyLogLevel(level) }
        }

        let prepared = actions
        return .init(changes: changes, effective: effective) {
            for action in prepared { await action() }
        }
    }

    /// The file keys whose new values the plan compares by their effect (rules, tokens,
    /// certificates, level) rather than by their text: `alerts.rules_dir` and
    /// `alerts.default_rules` change `alerts.rules`; certificate paths are re-read either way.
    static let keysComparedByEffect: Set<String> = [
        "alerts.rules", "alerts.rules_dir", "alerts.default_rules", "auth.viewer_tokens", "auth.admin_tokens",
        "http.tls.certificate_file", "http.tls.key_file", "ingest.tls.certificate_file", "ingest.tls.key_file",
        "log.level", "log_level",
    ]

    /// What only a restart applies, changed from `self` to `new`: every key of the file whose
    /// value changed (other than those compared by effect), so a key added to the daemon
    /// later is never dropped silently on a reload; and the changes no key's text shows: the
    /// contents of secret files, TLS turned on or off.
    func restartChanges(to new: QueryConfig) -> ConfigChanges {
        var changes = ConfigChanges()
        for key in Set(fileValues.keys).union(new.fileValues.keys).sorted()
        where !Self.keysComparedByEffect.contains(key) {
            changes.restart(key, fileValues[key], new.fileValues[key])
        }
        // Same paths, new contents (or, for TLS, a section appearing or going).
        changes.restart("database.password_file", databasePassword, new.databasePassword)
        changes.restart("http.tls (on/off)", httpTLS == nil, new.httpTLS == nil)
        changes.restart("ingest.tokens", ingestTCP?.tokens.fingerprint, new.ingestTCP?.tokens.fingerprint)
        changes.restart(
            "alerts.webhook_bearer_token_file/webhook_tls", alerts.webhookSecurity, new.alerts.webhookSecurity)
        changes.restart("alerts.alertmanager", alerts.alertmanager, new.alerts.alertmanager)
        changes.restart("export.remote_write", remoteWrite, new.remoteWrite)
        // The SMTP password file's contents, which no key's text shows.
        changes.restart("reports.smtp.password_file", reports.smtp?.password, new.reports.smtp?.password)
        return changes
    }
}

extension IngestTokens {
    /// Names, hashes and host bindings, to tell two token lists apart (never logged).
    var fingerprint: [String] { entries.map { "\($0.name) \($0.hash) \($0.hosts)" } }
}
