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

    /// The keys that only a restart applies, changed from `self` to `new`.
    func restartChanges(to new: QueryConfig) -> ConfigChanges {
        var changes = ConfigChanges()
        changes.restart("database.url", databaseURL, new.databaseURL)
        changes.restart("database.password_file", databasePassword, new.databasePassword)
        changes.restart("database.read_url", databaseReadURL, new.databaseReadURL)
        changes.restart("database.query_connections", queryConnections, new.queryConnections)
        changes.restart("database.ingest_connections", ingestConnections, new.ingestConnections)
        changes.restart("instance_name", instanceName, new.instanceName)
        changes.restart("log.format", log.format, new.log.format)
        changes.restart("http.listen", "\(httpHost):\(httpPort)", "\(new.httpHost):\(new.httpPort)")
        changes.restart("http.tls (on/off)", httpTLS == nil, new.httpTLS == nil)
        changes.restart("http limits (http.*, auth.max_failures_per_minute…)", httpLimits, new.httpLimits)
        changes.restart("http.response_cache_ms", responseCacheMs, new.responseCacheMs)
        changes.restart("ingest.socket", ingestSocket, new.ingestSocket)
        changes.restart("ingest.socket_mode", ingestSocketMode, new.ingestSocketMode)
        changes.restart("ingest.allowed_users/allowed_groups", ingestAllowList, new.ingestAllowList)
        changes.restart("ingest.max_frame_bytes", maxFrameBytes, new.maxFrameBytes)
        changes.restart("ingest.socket_max_connections", ingestSocketMaxConnections, new.ingestSocketMaxConnections)
        changes.restart(
            "ingest.socket_handshake_timeout_seconds", ingestSocketHandshakeTimeout, new.ingestSocketHandshakeTimeout)
        changes.restart("ingest.max_series/max_series_per_host", seriesCaps, new.seriesCaps)
        changes.restart(
            "ingest.tcp_listen", ingestTCP.map { "\($0.host):\($0.port)" },
            new.ingestTCP.map { "\($0.host):\($0.port)" })
        changes.restart("ingest.tokens", ingestTCP?.tokens.fingerprint, new.ingestTCP?.tokens.fingerprint)
        changes.restart(
            "ingest.tcp_handshake_timeout_seconds", ingestTCP?.handshakeTimeoutSeconds,
            new.ingestTCP?.handshakeTimeoutSeconds)
        changes.restart("ingest.tcp_max_connections", ingestTCP?.maxConnections, new.ingestTCP?.maxConnections)
        changes.restart("storage.partitions_ahead_days", partitionsAheadDays, new.partitionsAheadDays)
        changes.restart("storage.*_retention_days", retention, new.retention)
        changes.restart("storage.rollup_interval_seconds", rollupInterval, new.rollupInterval)
        changes.restart("storage.rollup_settle_seconds", rollupSettle, new.rollupSettle)
        changes.restart("logs.stream_buffer", logStreamBuffer, new.logStreamBuffer)
        changes.restart("logs.stream_keepalive_seconds", logStreamKeepalive, new.logStreamKeepalive)
        changes.restart("export.max_concurrent", exportMaxConcurrent, new.exportMaxConcurrent)
        changes.restart("export.remote_write", remoteWrite, new.remoteWrite)
        changes.restart("prometheus.require_token", metricsRequireToken, new.metricsRequireToken)
        changes.restart("prometheus.stale_after_seconds", metricsStaleAfter, new.metricsStaleAfter)
        changes.restart("alerts.enabled", alerts.enabled, new.alerts.enabled)
        changes.restart("alerts.interval_seconds", alerts.interval, new.alerts.interval)
        changes.restart("alerts.webhook_url", alerts.webhookURL, new.alerts.webhookURL)
        changes.restart("alerts.webhook_timeout_seconds", alerts.webhookTimeout, new.alerts.webhookTimeout)
        changes.restart("alerts.webhook_max_attempts", alerts.webhookMaxAttempts, new.alerts.webhookMaxAttempts)
        changes.restart("alerts.external_url", alerts.externalURL, new.alerts.externalURL)
        changes.restart(
            "alerts.webhook_bearer_token_file/webhook_tls", alerts.webhookSecurity, new.alerts.webhookSecurity)
        changes.restart("alerts.alertmanager", alerts.alertmanager, new.alerts.alertmanager)
        changes.restart("anomalies.*", anomalies, new.anomalies)
        changes.restart("ui.session_max_age_seconds", uiSessionMaxAge, new.uiSessionMaxAge)
        changes.restart("ui.secure_cookie", uiSecureCookie, new.uiSecureCookie)
        return changes
    }
}

extension IngestTokens {
    /// Names, hashes and host bindings, to tell two token lists apart (never logged).
    var fingerprint: [String] { entries.map { "\($0.name) \($0.hash) \($0.hosts)" } }
}
