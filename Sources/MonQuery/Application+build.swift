import Foundation
import Glibc
import Hummingbird
import Logging
import MonCore
import ServiceLifecycle

/// Builds the daemon: migrations, ingest socket, partition upkeep and the HTTP API.
func buildApplication(config: QueryConfig, logger: Logger) async throws -> some ApplicationProtocol {
    let broadcaster = LogBroadcaster()
    let cache = LastValueCache(staleAfterMs: Int64(config.metricsStaleAfter) * 1000)
    let writer = IngestWriter(
        databaseURL: config.databaseURL,
        password: config.databasePassword,
        maxAgeDays: Int64(config.rawRetentionDays),
        logger: logger,
        onCommit: { batch in
            cache.record(batch)
            if !batch.logs.isEmpty { broadcaster.publish(batch.logs) }
        }
    )
    try await writer.migrate()
    try await writer.maintainPartitions(aheadDays: config.partitionsAheadDays, nowMs: WallClock.nowMs())

    let stats = IngestStats()
    var ingestConfiguration = IngestServer.Configuration(socketPath: config.ingestSocket)
    ingestConfiguration.socketMode = mode_t(config.ingestSocketMode)
    ingestConfiguration.maxFrameBytes = config.maxFrameBytes
    ingestConfiguration.allowList = config.ingestAllowList
    let ingest = IngestServer(configuration: ingestConfiguration, writer: writer, stats: stats, logger: logger)
    let partitions = PartitionMaintenance(
        writer: writer, aheadDays: config.partitionsAheadDays, retention: config.retention, logger: logger)

    let rollup = RollupService(
        writer: RollupWriter(
            databaseURL: config.databaseURL, password: config.databasePassword, settleSeconds: config.rollupSettle),
        every: .milliseconds(Int64(config.rollupInterval * 1000)), logger: logger)

    let store = QueryStore(databaseURL: config.databaseURL, password: config.databasePassword)
    let settings = API.Settings(
        logStreamBuffer: config.logStreamBuffer,
        logStreamKeepalive: config.logStreamKeepalive,
        databaseURL: config.databaseURL,
        databasePassword: config.databasePassword,
        metricsRequireToken: config.metricsRequireToken,
        uiSecureCookie: config.uiSecureCookie
    )
    let alertStore = AlertStore(databaseURL: config.databaseURL, password: config.databasePassword)
    let evaluator = AlertEvaluator(
        rules: config.alerts.enabled ? config.alerts.rules : [],
        store: QueryStore(databaseURL: config.databaseURL, password: config.databasePassword, name: "pg-alert-query"),
        alerts: alertStore, cache: cache, stats: stats,
        webhook: config.alerts.webhookURL.map {
            AlertWebhook(
                url: $0, timeoutSeconds: config.alerts.webhookTimeout, maxAttempts: config.alerts.webhookMaxAttempts,
                externalURL: config.alerts.externalURL, logger: logger)
        }, logger: logger)
    let api = API(
        store: store, stats: stats, broadcaster: broadcaster, settings: settings,
        exportConcurrency: config.exportMaxConcurrent, authenticator: config.auth, cache: cache,
        alerts: config.alerts.enabled ? (evaluator, alertStore) : nil,
        sessions: UISessionStore(lifetimeSeconds: config.uiSessionMaxAge))
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
    if notifier.isEnabled { services.append(WatchdogService(notifier: notifier)) }
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.httpHost, port: config.httpPort), serverName: "monquery"),
        services: services,
        onServerRunning: { _ in
            notifier.notify("READY=1\nSTATUS=serving HTTP on \(config.httpHost):\(config.httpPort)")
        },
        logger: logger
    )
}

/// Routes of the HTTP surface (DESIGN §8). Paths are a contract with the MnemoLite UI.
func buildRouter(_ api: API, protectMetrics: Bool = false) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(metrics: api.httpMetrics))
    router.add(middleware: APIErrorMiddleware())
    router.add(middleware: AuthMiddleware(authenticator: api.authenticator, protectMetrics: protectMetrics))
    router.add(middleware: UIAuthMiddleware(authenticator: api.authenticator, sessions: api.sessions))
    for route in API.routes {
        let handler = route.handler
        router.on(RouterPath(stringLiteral: route.path), method: route.method) { request, _ in
            try await handler(api, request)
        }
    }
    return router
}
