import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MonCore
import MonQueryKit
import MonTLS
import ServiceLifecycle

/// Builds the daemon: migrations, ingest socket, partition upkeep and the HTTP API.
///
/// `reload` reads the configuration again for SIGHUP (nil: no reload); `applyLogLevel` puts a
/// reloaded `log_level` in force (nil: the level needs a restart).
func buildApplication(
    config: QueryConfig, logger: Logger, reload: (@Sendable () throws -> QueryConfig)? = nil,
    applyLogLevel: (@Sendable (Logger.Level) -> Void)? = nil
) async throws -> some ApplicationProtocol {
    let broadcaster = LogBroadcaster()
    let cache = LastValueCache(staleAfterMs: Int64(config.metricsStaleAfter) * 1000)
    let writers = IngestWriterPool(
        count: config.ingestConnections,
        databaseURL: config.databaseURL,
        password: config.databasePassword,
        maxAgeDays: Int64(config.rawRetentionDays),
        seriesCaps: config.seriesCaps,
        logger: logger,
        onCommit: { batch in
            cache.record(batch)
            if !batch.logs.isEmpty { broadcaster.publish(batch.logs) }
        }
    )
    try await writers.primary.migrate()
    try await writers.primary.maintainPartitions(aheadDays: config.partitionsAheadDays, nowMs: WallClock.nowMs())

    // Several daemons may share the database: each singleton job runs on the holder of its lease.
    let lease = Lease(
        databaseURL: config.databaseURL, password: config.databasePassword, instance: config.instanceName,
        logger: logger)
    let stats = IngestStats()
    let reloads = ConfigReloadStats(startedMs: WallClock.nowMs())
    var ingestConfiguration = IngestServer.Configuration(socketPath: config.ingestSocket)
    ingestConfiguration.socketMode = mode_t(config.ingestSocketMode)
    ingestConfiguration.maxFrameBytes = config.maxFrameBytes
    ingestConfiguration.allowList = config.ingestAllowList
    ingestConfiguration.socketMaxConnections = config.ingestSocketMaxConnections
    ingestConfiguration.socketHandshakeTimeoutSeconds = config.ingestSocketHandshakeTimeout
    // Certificates a reload replaces (new connections get the new one, open ones keep theirs).
    let httpCertificate = try config.httpTLS.map(LiveServerCertificate.init)
    let ingestCertificate = try config.ingestTCP.map { try LiveServerCertificate($0.tls) }
    if let tcp = config.ingestTCP, let ingestCertificate {
        ingestConfiguration.tcp = try IngestServer.TCPListener(tcp, certificate: ingestCertificate)
    }
    let ingest = IngestServer(configuration: ingestConfiguration, writers: writers, stats: stats, logger: logger)
    let partitions = PartitionMaintenance(
        writers: writers, aheadDays: config.partitionsAheadDays, retention: config.retention, lease: lease,
        logger: logger)

    let rollup = RollupService(
        writer: RollupWriter(
            databaseURL: config.databaseURL, password: config.databasePassword, settleSeconds: config.rollupSettle),
        every: .milliseconds(Int64(config.rollupInterval * 1000)), stats: stats, lease: lease, logger: logger)

    // The API only reads: it may read a replica (`database.read_url`); exports too.
    let readURL = config.databaseReadURL ?? config.databaseURL
    let stores = QueryStorePool(
        databaseURL: readURL, password: config.databasePassword, connections: config.queryConnections)
    let settings = API.Settings(
        logStreamBuffer: config.logStreamBuffer,
        logStreamKeepalive: config.logStreamKeepalive,
        databaseURL: readURL,
        databasePassword: config.databasePassword,
        metricsRequireToken: config.metricsRequireToken,
        // Served over HTTPS: the session cookie never travels in clear.
        uiSecureCookie: config.uiSecureCookie || config.httpTLS != nil,
        maxStreamSubscribers: config.httpLimits.maxStreamSubscribers,
        retention: config.retention
    )
    let limits = config.httpLimits
    let limitStats = HTTPLimitStats()
    // The fleet's request statistics and counter increases, read once for the summary, the
    // alert rules and the anomaly monitor of a moment (on a connection of their own).
    let fleet = FleetReads(
        store: QueryStore(databaseURL: config.databaseURL, password: config.databasePassword, name: "pg-fleet-reads")
    )
    let anomalies =
        config.anomalies.enabled
        ? AnomalyMonitor(
            settings: config.anomalies,
            store: QueryStore(
                databaseURL: config.databaseURL, password: config.databasePassword, name: "pg-anomaly-query"),
            fleet: fleet, logger: logger) : nil
    let alertStore = AlertStore(databaseURL: config.databaseURL, password: config.databasePassword)
    let evaluator = AlertEvaluator(
        rules: config.alerts.enabled ? config.alerts.rules : [],
        store: QueryStore(databaseURL: config.databaseURL, password: config.databasePassword, name: "pg-alert-query"),
        alerts: alertStore, cache: cache, stats: stats,
        webhook: try alertNotifiers(config: config, logger: logger), anomalies: anomalies, lease: lease, fleet: fleet,
        logger: logger)
    // Remote-write destinations: their TLS files are read now (a bad one stops the start).
    let remoteWrite = try config.remoteWrite.map { settings in
        RemoteWriteExporter(
            settings: settings, databaseURL: config.databaseURL, password: config.databasePassword,
            transport: try RemoteWritePoster(settings: settings), lease: lease, logger: logger)
    }
    var assembled = API(
        stores: stores, stats: stats, broadcaster: broadcaster, settings: settings,
        exportConcurrency: config.exportMaxConcurrent, authenticator: config.auth, cache: cache,
        alerts: config.alerts.enabled ? (evaluator, alertStore) : nil, anomalies: anomalies, lease: lease,
        sessions: UISessionStore(lifetimeSeconds: config.uiSessionMaxAge),
        authThrottle: AuthThrottle(limit: limits.authFailuresPerMinute, capacity: limits.throttleMaxAddresses),
        limitStats: limitStats, responseCacheMs: config.responseCacheMs,
        // A read replica answers the API: its summary reads the replica, as every other route.
        fleet: config.databaseReadURL == nil ? fleet : nil, reloads: reloads)
    assembled.remoteWrite = remoteWrite
    // Scheduled reports, made on the primary (they are written there) by the lease holder.
    if !config.reports.schedules.isEmpty {
        assembled.reportScheduler = ReportScheduler(
            settings: config.reports,
            builder: ReportBuilder(
                databaseURL: config.databaseURL, password: config.databasePassword, anomalies: config.anomalies,
                logger: logger),
            store: ReportStore(databaseURL: config.databaseURL, password: config.databasePassword),
            transport: config.reports.smtp.map { SMTPTransport(settings: $0) }, lease: lease, logger: logger)
    }
    let api = assembled
    if !config.auth.isEnabled {
        logger.warning(
            "no API token configured: /api is open to every local user; set auth.viewer_tokens / auth.admin_tokens",
            metadata: ["listen": "\(config.httpHost):\(config.httpPort)"])
    }
    let router = buildRouter(api, protectMetrics: config.metricsRequireToken)
    let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
    var services: [any Service] = [ingest, partitions, rollup]
    if config.alerts.enabled {
        services.append(
            AlertService(
                evaluator: evaluator, alerts: alertStore, every: .milliseconds(Int64(config.alerts.interval * 1000)),
                retentionDays: config.retention.days["events"] ?? 30, logger: logger))
    }
    if let anomalies {
        services.append(
            AnomalyService(monitor: anomalies, every: .milliseconds(Int64(config.anomalies.interval * 1000))))
    }
    if !remoteWrite.isEmpty { services.append(RemoteWriteService(exporters: remoteWrite)) }
    if let reports = api.reportScheduler { services.append(reports) }
    // The latest values of the hosts other daemons on this database ingest (none when alone).
    services.append(
        PeerValuesService(
            values: PeerValues(databaseURL: config.databaseURL, password: config.databasePassword, cache: cache),
            stats: stats, logger: logger))
    if notifier.isEnabled { services.append(WatchdogService(notifier: notifier)) }
    if let reload {
        let targets = QueryReloadTargets(
            alerts: config.alerts.enabled ? evaluator : nil, tokens: api.tokens,
            httpCertificate: httpCertificate?.reloader, ingestCertificate: ingestCertificate?.reloader,
            applyLogLevel: applyLogLevel)
        let reloader = ConfigReloader(
            running: config, stats: reloads, logger: logger, load: reload,
            plan: { running, new in try running.reloadPlan(to: new, targets: targets) })
        services.append(await ReloadService { await reloader.reload() })
    }
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [HTTPConnectionGuard(limits: limits, stats: limitStats)],
        httpDecoderConfiguration: .init(
            maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes,
            maxHeaderFieldCount: HTTPConnectionGuard.maxHeaderFields))
    var server = HTTPServerBuilder.http1(configuration: http1)
    if let httpCertificate {
        server = try .tls(.http1(configuration: http1), tlsConfiguration: httpCertificate.configuration)
    } else if !QueryConfig.isLoopback(config.httpHost) {
        logger.warning(
            "the API is reachable beyond this host over plain HTTP: tokens cross the network in clear; set http.tls.certificate_file and http.tls.key_file, or put a TLS proxy in front",
            metadata: ["listen": "\(config.httpHost):\(config.httpPort)"])
    }
    return Application(
        router: router,
        server: server,
        // Past twice the connection cap the daemon stops accepting (the kernel queues the rest);
        // between the cap and twice it, HTTPConnectionGuard answers 503 and closes.
        configuration: .init(
            address: .hostname(config.httpHost, port: config.httpPort), serverName: "monquery",
            availableConnectionsDelegate: MaximumAvailableConnections(2 * limits.maxConnections)),
        services: services,
        onServerRunning: { _ in
            notifier.notify(
                "READY=1\nSTATUS=serving HTTP\(config.httpTLS == nil ? "" : "S") on \(config.httpHost):\(config.httpPort)"
            )
        },
        logger: logger
    )
}

/// Routes of the HTTP surface (DESIGN §8). Paths are a contract with the MnemoLite UI.
///
/// Every request passes, in order: the duration histogram, the JSON error rendering, the
/// request-target check (`RequestTargetMiddleware`: non-canonical targets never reach the
/// router), then the router; each route's handler is wrapped in `RouteGate.pass`, which
/// enforces the route's own access rule from `RouteCatalogue`.
func buildRouter(_ api: API, protectMetrics: Bool = false) -> Router<DaemonRequestContext> {
    let router = Router(context: DaemonRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(metrics: api.httpMetrics))
    router.add(middleware: APIErrorMiddleware())
    router.add(middleware: RequestTargetMiddleware(stats: api.limitStats))
    let gate = RouteGate(
        tokens: api.tokens, sessions: api.sessions, metricsRequireToken: protectMetrics,
        throttle: api.authThrottle)
    for route in API.routes {
        let handler = route.handler
        router.on(RouterPath(stringLiteral: route.path), method: route.method) { request, context in
            try await gate.pass(route, request, context) {
                guard let cache = api.responseCache else { return try await handler(api, request) }
                return try await cache.response(request, route: route.path) { try await handler(api, request) }
            }
        }
    }
    return router
}

/// The webhook and the Alertmanagers of `alerts.*` as one notifier (nil: none). TLS files
/// are read now: a bad one stops the start with the key named (exit 78).
func alertNotifiers(config: QueryConfig, logger: Logger) throws -> (any AlertNotifier)? {
    let alerts = config.alerts
    var notifiers: [any AlertNotifier] = []
    if let url = alerts.webhookURL {
        notifiers.append(
            try AlertWebhook(
                url: url, timeoutSeconds: alerts.webhookTimeout, maxAttempts: alerts.webhookMaxAttempts,
                externalURL: alerts.externalURL, security: alerts.webhookSecurity, logger: logger))
    }
    if let settings = alerts.alertmanager {
        // generatorURL links to the dashboard: under alerts.external_url, else this daemon's address.
        let base =
            alerts.externalURL.isEmpty
            ? "\(config.httpTLS == nil ? "http" : "https")://\(config.httpHost.contains(":") ? "[\(config.httpHost)]" : config.httpHost):\(config.httpPort)"
            : alerts.externalURL
        notifiers.append(
            try AlertmanagerNotifier(
                settings: settings, rules: alerts.rules, evaluationSeconds: alerts.interval, externalURL: base,
                logger: logger))
    }
    return notifiers.isEmpty ? nil : AlertNotifiers(notifiers)
}
