import Foundation
import MonCore

/// monquery's configuration. Every key is documented in `config/monquery.yaml`;
/// every scalar can be overridden by `MONQUERY_<KEY>` (dots become underscores).
public struct QueryConfig: Sendable {
    public static let defaultPath = "/etc/mon/monquery.yaml"

    /// `database.url` — libpq URL or key=value string (default `postgresql:///mon`).
    /// Never logged: messages show it with the password replaced by `***`.
    public var databaseURL: String
    /// `database.password_file` — file holding the password, kept out of the URL and `ps`.
    public var databasePassword: String?
    /// `database.read_url` — where the API reads (a PostgreSQL read replica); nil: `database.url`.
    /// Ingest, rollups, retention, alerts and anomalies always use `database.url`.
    public var databaseReadURL: String?
    /// `instance_name` — this daemon's name among several sharing one database: it names the
    /// holder of each singleton job's lease on `/health/detailed` (default `<hostname>:<pid>`).
    public var instanceName: String
    /// `http.listen` — `host:port` of the HTTP API (default `127.0.0.1:8089`).
    public var httpHost: String
    public var httpPort: Int
    /// `http.tls.certificate_file`, `http.tls.key_file` — PEM files; set both to serve the API
    /// over HTTPS (default: plain HTTP, fine on loopback behind a TLS-terminating proxy).
    public var httpTLS: TLSFiles?
    /// `http.idle_timeout_seconds`, `http.max_connections`, `http.max_stream_subscribers`,
    /// `http.max_header_bytes`, `http.max_body_bytes`, `auth.max_failures_per_minute`,
    /// `auth.throttle_max_addresses`: the HTTP server's limits and the credential throttle.
    public var httpLimits: HTTPLimits
    /// `ingest.socket` — agents connect here (default `/run/monquery/ingest.sock`).
    public var ingestSocket: String
    /// `ingest.socket_mode` — octal permission bits of the socket (default `0660`).
    public var ingestSocketMode: UInt32
    /// `ingest.allowed_users`, `ingest.allowed_groups` — who may connect (`SO_PEERCRED`),
    /// besides root and the daemon's own user (default: nobody else); each entry may write
    /// the hosts of its `:hosts=a|b` option (`:hosts=*`: any), by default this machine's name.
    public var ingestAllowList: IngestAllowList
    /// `ingest.max_frame_bytes` — largest frame accepted (default 16 MiB).
    public var maxFrameBytes: Int
    /// `ingest.socket_max_connections` — Unix socket connections served at once (default 1024).
    public var ingestSocketMaxConnections: Int
    /// `ingest.socket_handshake_timeout_seconds` — a socket connection must send HELLO within
    /// this (default 10).
    public var ingestSocketHandshakeTimeout: Int
    /// `ingest.max_series_per_host` (default 100 000), `ingest.max_series` (default 1 000 000):
    /// new series past them are dropped and counted.
    public var seriesCaps: SeriesCaps
    /// `ingest.tcp_listen` — `host:port` where remote agents connect (default: off). Requires
    /// `ingest.tls.certificate_file` / `ingest.tls.key_file` and `ingest.tokens` (SHA-256
    /// hashes, `name:hex`, of the tokens the agents present).
    public var ingestTCP: IngestTCPSettings?
    /// `storage.partitions_ahead_days` — daily partitions created in advance (default 3).
    public var partitionsAheadDays: Int
    /// `storage.raw_retention_days` — raw samples and histogram windows kept (default 7);
    /// older ones are refused at ingest.
    public var rawRetentionDays: Int
    /// `storage.logs_retention_days` (7), `storage.events_retention_days` (30),
    /// `storage.ledger_retention_days` (7), `storage.spans_retention_days` (as logs): the other
    /// tables' retention.
    public var retention: RetentionPolicy
    /// `storage.rollup_1m_retention_days` (30), `storage.rollup_1h_retention_days` (400): the
    /// rollup tiers' retention (`metrics_1m`/`histograms_1m`; `metrics_1h`/`histograms_1h` and
    /// the 6-hour tier `metrics_6h`/`histograms_6h`, kept as long).
    /// `storage.rollup_interval_seconds` (10): pause between rollup passes once caught up.
    public var rollupInterval: Double
    /// `storage.rollup_settle_seconds` (15): a minute is rolled up this long after it ended.
    public var rollupSettle: Int
    /// `log.level` (trace … critical, default info; the older `log_level` is still read) and
    /// `log.format` (logfmt or json) — `LogSettings`.
    public var log: LogSettings
    /// `logs.stream_buffer` — records a live-stream client may fall behind before drops are counted (default 1000).
    public var logStreamBuffer: Int
    /// `logs.stream_keepalive_seconds` — comment line sent to idle live-stream clients (default 15).
    public var logStreamKeepalive: Double
    /// `export.max_concurrent` — exports running at once, each on its own connection (default 2).
    public var exportMaxConcurrent: Int
    /// `export.remote_write` — Prometheus remote-write destinations (default none).
    public var remoteWrite: [RemoteWriteSettings]
    /// `database.query_connections`: PostgreSQL sessions the API reads through (`QueryStorePool`).
    public var queryConnections: Int
    /// `database.ingest_connections` (default 2, 1…16): PostgreSQL sessions batches are stored
    /// through (`IngestWriterPool`), each on its own thread; a host's batches all use one.
    public var ingestConnections: Int
    /// `http.response_cache_ms`: how long the database-backed GET answers are kept (0 = off).
    public var responseCacheMs: Int
    /// `auth.viewer_tokens`, `auth.admin_tokens` — SHA-256 hashes of the API's bearer tokens.
    public var auth: Authenticator
    /// `prometheus.require_token` — `/metrics` needs a viewer (or admin) token (default false).
    public var metricsRequireToken: Bool
    /// `prometheus.stale_after_seconds` — a series not updated for this long leaves `/metrics`
    /// and the summary (default 300).
    public var metricsStaleAfter: Int

    /// `alerts.*`: rule evaluation and notification.
    public var alerts: AlertSettings
    /// `ui.session_max_age_seconds` — how long a dashboard login lasts (default 43200, 12 h;
    /// 60 to 2592000). Sessions live in memory: a restart logs everyone out.
    public var uiSessionMaxAge: Int
    /// `ui.secure_cookie` — mark the dashboard's session cookie `Secure` (default false: the
    /// daemon serves plain HTTP; set it when a TLS proxy fronts the dashboard. A request
    /// forwarded with `X-Forwarded-Proto: https` gets `Secure` either way).
    public var uiSecureCookie: Bool

    /// `anomalies.*`: seasonal-baseline anomalies and trend flags on the key signals.
    public var anomalies: AnomalySettings
    /// `reports.*`: scheduled PDF reports, stored and mailed (`ReportSettings`).
    public var reports: ReportSettings
    /// The file's keys and values in force (a variable overriding one wins), compared by a
    /// reload (`QueryConfig+Reload`): a changed key the reload does not apply is named as
    /// needing a restart, whichever key it is. Never logged (values may be secrets).
    public var fileValues: [String: String] = [:]

    public static func load(path: String?, environment: [String: String]) throws -> QueryConfig {
        let source = try ConfigSource(path: path, envPrefix: "MONQUERY", environment: environment)
        return try QueryConfig(source: source)
    }

    public init(source: ConfigSource) throws {
        databaseURL = source.string("database.url", default: "postgresql:///mon")
        databasePassword = try source.secretFile("database.password_file")
        databaseReadURL = source.optionalString("database.read_url")
        // 48 characters: PostgreSQL keeps 63 bytes of an application_name, and the lease session's
        // is `monquery-lease:<instance_name>`.
        if let name = source.optionalString("instance_name") {
            guard name.utf8.count <= 48, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F })
            else {
                throw ConfigError(key: "instance_name", message: "'\(name)' must be 1 to 48 printable ASCII characters")
            }
            instanceName = name
        } else {
            let pid = ":\(getpid())"
            let host = HostName.current().unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }
            instanceName = String(String.UnicodeScalarView(host).prefix(48 - pid.count)) + pid
        }
        let listen = source.string("http.listen", default: "127.0.0.1:8089")
        (httpHost, httpPort) = try ListenAddress.parse(listen, key: "http.listen")
        // `localhost` is bound as 127.0.0.1, never resolved: what `isLoopback` checks is what is bound.
        if httpHost.lowercased() == "localhost" { httpHost = "127.0.0.1" }
        httpTLS = try TLSFiles.load(source, prefix: "http.tls")
        httpLimits = try HTTPLimits(source: source)
        ingestSocket = source.string("ingest.socket", default: "/run/monquery/ingest.sock")
        let mode = source.string("ingest.socket_mode", default: "0660")
        guard let parsedMode = UInt32(mode, radix: 8), parsedMode <= 0o777 else {
            throw ConfigError(key: "ingest.socket_mode", message: "'\(mode)' is not an octal mode like 0660")
        }
        ingestSocketMode = parsedMode
        let localHost = HostName.current()
        ingestAllowList = IngestAllowList(
            users: try IngestAllowList.users(
                source.stringList("ingest.allowed_users", default: []), key: "ingest.allowed_users",
                localHost: localHost),
            groups: try IngestAllowList.groups(
                source.stringList("ingest.allowed_groups", default: []), key: "ingest.allowed_groups",
                localHost: localHost))
        maxFrameBytes = try source.int(
            "ingest.max_frame_bytes", default: WireLimits.defaultMaxFrameBytes, range: 1024...(1 << 30))
        ingestSocketMaxConnections = try source.int("ingest.socket_max_connections", default: 1024, range: 1...65_535)
        ingestSocketHandshakeTimeout = try source.int(
            "ingest.socket_handshake_timeout_seconds", default: 10, range: 1...300)
        seriesCaps = SeriesCaps(
            perHost: try source.int("ingest.max_series_per_host", default: 100_000, range: 1...100_000_000),
            total: try source.int("ingest.max_series", default: 1_000_000, range: 1...1_000_000_000))
        ingestTCP = try Self.tcpListener(source)
        partitionsAheadDays = try source.int("storage.partitions_ahead_days", default: 3, range: 1...60)
        rawRetentionDays = try source.int("storage.raw_retention_days", default: 7, range: 1...3650)
        let minuteDays = try source.int("storage.rollup_1m_retention_days", default: 30, range: 1...3650)
        let hourDays = try source.int("storage.rollup_1h_retention_days", default: 400, range: 1...3650)
        rollupInterval = try source.double("storage.rollup_interval_seconds", default: 10, range: 1...3600)
        rollupSettle = try source.int("storage.rollup_settle_seconds", default: 15, range: 0...3600)
        // The hourly statement sums (`statements_1h`) are kept as long as the events they sum.
        let eventsDays = try source.int("storage.events_retention_days", default: 30, range: 1...3650)
        let logsDays = try source.int("storage.logs_retention_days", default: 7, range: 1...3650)
        retention = RetentionPolicy(
            days: [
                "metrics": rawRetentionDays, "histograms": rawRetentionDays,
                "logs": logsDays,
                "spans": try source.int("storage.spans_retention_days", default: logsDays, range: 1...3650),
                "events": eventsDays, "statements_1h": eventsDays,
                "metrics_1m": minuteDays, "histograms_1m": minuteDays,
                "metrics_1h": hourDays, "histograms_1h": hourDays, "metrics_6h": hourDays, "histograms_6h": hourDays,
            ],
            ledgerDays: try source.int("storage.ledger_retention_days", default: 7, range: 1...3650))
        try Self.checkRetentionOrder(retention)
        log = try LogSettings(source: source)
        logStreamBuffer = try source.int("logs.stream_buffer", default: 1000, range: 1...1_000_000)
        logStreamKeepalive = try source.double("logs.stream_keepalive_seconds", default: 15, range: 0.1...3600)
        exportMaxConcurrent = try source.int("export.max_concurrent", default: 2, range: 1...64)
        remoteWrite = try RemoteWriteSettings.load(source)
        queryConnections = try source.int("database.query_connections", default: 4, range: 1...64)
        ingestConnections = try source.int("database.ingest_connections", default: 2, range: 1...16)
        responseCacheMs = try source.int("http.response_cache_ms", default: 500, range: 0...60_000)
        auth = try Authenticator(source: source)
        metricsRequireToken = try source.bool("prometheus.require_token", default: false)
        metricsStaleAfter = try source.int("prometheus.stale_after_seconds", default: 300, range: 5...86_400)
        alerts = try AlertSettings(source: source)
        anomalies = try AnomalySettings(source: source)
        reports = try ReportSettings(source: source)
        if alerts.enabled {
            for rule in alerts.rules {
                guard let signal = rule.anomalySignal else { continue }
                guard anomalies.enabled else {
                    throw ConfigError(
                        key: "anomalies.enabled",
                        message: "is false but alert rule \(rule.name) (\(rule.origin)) uses anomaly_\(signal.rawValue)"
                    )
                }
                guard anomalies.signals.contains(signal) else {
                    throw ConfigError(
                        key: "anomalies.signals",
                        message: "does not list \(signal.rawValue), used by alert rule \(rule.name) (\(rule.origin))")
                }
            }
        }
        uiSessionMaxAge = try source.int("ui.session_max_age_seconds", default: 43_200, range: 60...2_592_000)
        uiSecureCookie = try source.bool("ui.secure_cookie", default: false)
        if metricsRequireToken && !auth.isEnabled {
            throw ConfigError(
                key: "prometheus.require_token",
                message: "is true but no token is configured (auth.viewer_tokens / auth.admin_tokens)")
        }
        try source.finish()
        fileValues = source.fileValues
        guard auth.isEnabled || Self.isLoopback(httpHost) else {
            throw ConfigError(
                key: "http.listen",
                message:
                    "'\(listen)' is reachable beyond this host but no API token is configured; set auth.viewer_tokens / auth.admin_tokens"
            )
        }
    }

    /// Each tier must outlive the finer one it is built from (raw ≤ 1-minute ≤ 1-hour), or a
    /// chart over a kept period finds neither raw rows nor rollups; and the ingest ledger must
    /// outlive the raw samples, or a replayed batch whose ledger row is gone but whose samples
    /// are still accepted would be stored twice. Names the keys at fault.
    static func checkRetentionOrder(_ policy: RetentionPolicy) throws {
        let raw = policy.days["metrics"] ?? 0
        let minute = policy.days["metrics_1m"] ?? 0
        let hour = policy.days["metrics_1h"] ?? 0
        guard raw <= minute else {
            throw ConfigError(
                key: "storage.raw_retention_days",
                message:
                    "\(raw) days is longer than storage.rollup_1m_retention_days (\(minute)): raw samples must not outlive the 1-minute rollups (raw <= 1m <= 1h)"
            )
        }
        guard minute <= hour else {
            throw ConfigError(
                key: "storage.rollup_1m_retention_days",
                message:
                    "\(minute) days is longer than storage.rollup_1h_retention_days (\(hour)): the 1-minute rollups must not outlive the 1-hour ones (raw <= 1m <= 1h)"
            )
        }
        guard policy.ledgerDays >= raw else {
            throw ConfigError(
                key: "storage.ledger_retention_days",
                message:
                    "\(policy.ledgerDays) days is shorter than storage.raw_retention_days (\(raw)): a replayed batch could then be stored twice"
            )
        }
    }

    /// `ingest.tcp_listen` with the TLS files and tokens it cannot go without.
    static func tcpListener(_ source: ConfigSource) throws -> IngestTCPSettings? {
        let listen = source.string("ingest.tcp_listen", default: "")
        let tls = try TLSFiles.load(source, prefix: "ingest.tls")
        let tokens = try IngestTokens(source: source)
        guard !listen.isEmpty else { return nil }
        let (host, port) = try ListenAddress.parse(listen, key: "ingest.tcp_listen")
        guard let tls else {
            throw ConfigError(
                key: "ingest.tcp_listen",
                message:
                    "needs ingest.tls.certificate_file and ingest.tls.key_file: remote agents connect over TLS only")
        }
        guard !tokens.isEmpty else {
            throw ConfigError(
                key: "ingest.tcp_listen",
                message: "needs ingest.tokens: every remote agent presents a token (see `monquery hash-token`)")
        }
        let handshake = try source.int("ingest.tcp_handshake_timeout_seconds", default: 10, range: 1...300)
        let maxConnections = try source.int("ingest.tcp_max_connections", default: 256, range: 1...65_535)
        return IngestTCPSettings(
            host: host, port: port, tls: tls, tokens: tokens, handshakeTimeoutSeconds: handshake,
            maxConnections: maxConnections)
    }

    /// True when `host` is a loopback IP address: IPv4 127.0.0.0/8, IPv6 `::1`, or an
    /// IPv4-mapped loopback (`::ffff:127.0.0.1`). Parsed with `inet_pton`, so a host name
    /// (`127.foo.example`) is never loopback; `http.listen`'s `localhost` is bound as
    /// `127.0.0.1` (mapped before this is asked).
    public static func isLoopback(_ host: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}

/// `alerts.*` of monquery.yaml.
public struct AlertSettings: Sendable {
    /// `alerts.enabled` (default true).
    public var enabled: Bool
    /// `alerts.interval_seconds` — every rule is evaluated this often (default 10).
    public var interval: Double
    /// The rules in force: the shipped defaults (`alerts.default_rules`, default true), then
    /// the files of `alerts.rules_dir` (default `/etc/mon/rules.d`, `*.yaml`), then
    /// `alerts.rules` (a list in this file); a later rule replaces an earlier one of the same name.
    public var rules: [AlertRule]
    /// `alerts.for_scale` (default 1, 0.001–1) — multiplies every rule's `for` (rounded to whole
    /// seconds, at least 1 where it was not 0), so a test can shorten holds without touching thresholds.
    public var forScale: Double
    /// `alerts.webhook_url` — Alertmanager-style webhook (default none).
    public var webhookURL: URL?
    /// `alerts.webhook_timeout_seconds` (10), `alerts.webhook_max_attempts` (5).
    public var webhookTimeout: Double
    public var webhookMaxAttempts: Int
    /// `alerts.external_url` — link sent as `generatorURL`/`externalURL` (default empty).
    public var externalURL: String
    /// `alerts.webhook_bearer_token_file`, `alerts.webhook_tls.*`.
    public var webhookSecurity: WebhookSecurity
    /// `alerts.alertmanager.*` — Alertmanager's v2 API (nil: none configured).
    public var alertmanager: AlertmanagerSettings?

    public init(source: ConfigSource) throws {
        enabled = try source.bool("alerts.enabled", default: true)
        interval = try source.double("alerts.interval_seconds", default: 10, range: 0.2...3600)
        var lists: [[AlertRule]] = []
        do {
            if try source.bool("alerts.default_rules", default: true) {
                lists.append(try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>"))
            }
            lists.append(
                try AlertRuleParser.load(directory: source.string("alerts.rules_dir", default: "/etc/mon/rules.d")))
            if let (node, origin) = source.sequenceNode("alerts.rules") {
                let file = String(origin.prefix { $0 != ":" })
                lists.append(try AlertRuleParser.parse(list: node, file: file))
            }
        } catch let error as AlertRuleError {
            throw ConfigError(key: "alerts", message: "invalid rule at \(error.origin): \(error.message)")
        }
        let scale = try source.double("alerts.for_scale", default: 1, range: 0.001...1)
        forScale = scale
        rules = AlertRuleParser.merge(lists).map { $0.scalingFor(by: scale) }
        if let text = source.optionalString("alerts.webhook_url"), !text.isEmpty {
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil
            else {
                throw ConfigError(key: "alerts.webhook_url", message: "'\(text.prefix(80))' is not an http(s) URL")
            }
            webhookURL = url
        } else {
            webhookURL = nil
        }
        webhookTimeout = try source.double("alerts.webhook_timeout_seconds", default: 10, range: 0.1...300)
        webhookMaxAttempts = try source.int("alerts.webhook_max_attempts", default: 5, range: 1...100)
        externalURL = source.string("alerts.external_url", default: "")
        webhookSecurity = try WebhookSecurity(source: source)
        alertmanager = try AlertmanagerSettings.load(source)
    }
}

/// `ingest.tcp_listen` and what it needs: the listener's address, TLS files and tokens.
public struct IngestTCPSettings: Sendable {
    public var host: String
    public var port: Int
    public var tls: TLSFiles
    public var tokens: IngestTokens
    /// `ingest.tcp_handshake_timeout_seconds` (1–300, default 10): a connection that has not
    /// finished TLS and sent HELLO by then is closed.
    public var handshakeTimeoutSeconds: Int
    /// `ingest.tcp_max_connections` (1–65535, default 256): further TCP connections are closed
    /// at once (remote agents keep one connection each).
    public var maxConnections: Int
}
