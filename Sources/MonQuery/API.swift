import Hummingbird
import MonCore
import MonQueryKit

/// Handlers of the JSON API. Each parses and checks its parameters, queries the
/// store, and shapes the answer with units in the field names.
struct API: Sendable {
    /// What the handlers need from the configuration.
    struct Settings: Sendable {
        var logStreamBuffer = 1000
        var logStreamKeepalive = 15.0
        var databaseURL = ""
        var databasePassword: String? = nil
        /// `/openapi.json` marks `/metrics` as secured.
        var metricsRequireToken = false
        /// `ui.secure_cookie`, or `http.tls` set: the dashboard's session cookie is `Secure`.
        var uiSecureCookie = false
        /// `http.max_stream_subscribers`: live SSE streams at once.
        var maxStreamSubscribers = 100
        /// `retention.*`: which tier still holds a past range (`TimeRange`'s step for it).
        var retention = RetentionPolicy.defaults
    }

    /// The read connections; `store` is the least busy one now.
    let stores: QueryStorePool
    var store: QueryStore { stores.store }
    let stats: IngestStats
    let broadcaster: LogBroadcaster
    let settings: Settings
    let exportSlots: ExportSlots
    /// The API's tokens, replaced by a configuration reload; `authenticator` is the set in force.
    let tokens: LiveAuthenticator
    var authenticator: Authenticator { tokens.current }
    /// Configuration reloads (SIGHUP), for `/metrics`.
    let reloads: ConfigReloadStats
    let cache: LastValueCache
    let httpMetrics: HTTPMetrics
    /// The `/metrics` exposition buffer, kept between scrapes.
    let renderBuffer = PrometheusText.RenderBuffer()
    /// Nil when `alerts.enabled` is false.
    let alerts: (evaluator: AlertEvaluator, store: AlertStore)?
    /// Nil when `anomalies.enabled` is false.
    let anomalies: AnomalyMonitor?
    /// Which instance runs each singleton job (`/health/detailed`); nil in router tests.
    let lease: Lease?
    /// The `export.remote_write` destinations (`/metrics`, `/health/detailed`).
    var remoteWrite: [RemoteWriteExporter] = []
    /// The scheduled reports (`reports.daily`/`weekly`; nil when neither is set): their
    /// schedules and status (`/api/monitoring/reports`, `/health/detailed`, `/metrics`).
    var reportScheduler: ReportScheduler?
    /// Logged-in dashboard sessions (`/ui`).
    let sessions: UISessionStore
    /// Failed credentials per client address (`RouteGate`), and their counters.
    let authThrottle: AuthThrottle
    /// The HTTP server's limits: connections, streams, refusals (`/metrics`).
    let limitStats: HTTPLimitStats
    /// The summary's database figures by host filter: fresh for a second, then served up to
    /// 5 s old while one refresh runs in the background (`summaryView`).
    /// Fresh for 1 s, or 10 × as long as they took to read (one fleet-wide read of 300 ms
    /// serves 3 s), at most 5 s: agents sample every 5 s.
    let summaryFigures = ShortLivedCache<String?, SummaryFigures>(ttlMs: 1000, staleMs: 5000, costFactor: 10)
    /// The fleet's request statistics and counter increases (every host), shared with the
    /// alert rules and the anomaly monitor when they read the same database.
    let fleet: FleetReads
    /// The all-hosts summary of a fleet, rendered for every caller of a moment.
    let fleetSummary = FleetSummary()
    /// Answers of the database-backed GET routes, shared for a moment (`http.response_cache_ms`);
    /// nil when off.
    let responseCache: ResponseCache?

    init(
        stores: QueryStorePool, stats: IngestStats, broadcaster: LogBroadcaster = LogBroadcaster(),
        settings: Settings = Settings(), exportConcurrency: Int = 2,
        authenticator: Authenticator = Authenticator(tokens: []), cache: LastValueCache = LastValueCache(),
        httpMetrics: HTTPMetrics = HTTPMetrics(), alerts: (evaluator: AlertEvaluator, store: AlertStore)? = nil,
        anomalies: AnomalyMonitor? = nil, lease: Lease? = nil,
        sessions: UISessionStore = UISessionStore(lifetimeSeconds: 43_200),
        authThrottle: AuthThrottle = AuthThrottle(), limitStats: HTTPLimitStats = HTTPLimitStats(),
        responseCacheMs: Int = 0, fleet: FleetReads? = nil,
        reloads: ConfigReloadStats = ConfigReloadStats(startedMs: WallClock.nowMs())
    ) {
        self.reloads = reloads
        self.fleet =
            fleet
            ?? FleetReads(
                readFigures: { [stores] range in try await stores.store.fleetRequestStats(range: range) },
                readIncrease: { [stores] name, range in
                    try await stores.store.increase(name: name, host: nil, range: range)
                })
        responseCache = responseCacheMs > 0 ? ResponseCache(ttlMs: Int64(responseCacheMs)) : nil
        self.authThrottle = authThrottle
        self.limitStats = limitStats
        self.alerts = alerts
        self.anomalies = anomalies
        self.lease = lease
        self.sessions = sessions
        self.httpMetrics = httpMetrics
        tokens = LiveAuthenticator(authenticator)
        self.cache = cache
        self.stores = stores
        self.stats = stats
        self.broadcaster = broadcaster
        self.settings = settings
        exportSlots = ExportSlots(capacity: exportConcurrency)
    }

    func health(_ request: Request) throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        return .json(.object([("status", "ok")]))
    }

    /// The caller's role (`RouteGate` already refused callers without one).
    func role(_ request: Request) -> Authenticator.Role {
        validRole(request) ?? .viewer
    }

    /// The role of the request's bearer token; nil without a valid one; admin when
    /// authentication is off.
    func validRole(_ request: Request) -> Authenticator.Role? {
        try? authenticator.role(authorization: request.headers[.authorization]).get()
    }

    /// Common envelope: period, step, and one entry per host.
    func envelope(_ range: TimeRange, hosts: [JSONValue], type: String? = nil) -> Response {
        .json(
            .object(
                (type.map { [("type", JSONValue.string($0))] } ?? []) + [
                    ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                    ("step", .string(DurationText.format(seconds: range.stepSeconds))),
                    ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                    ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                    ("hosts", .array(hosts)),
                ])
        )
    }
}

/// Helpers to shape series into JSON fields.
enum Shape {
    /// Latest value scaled (ratio → percent with 100).
    static func latest(_ series: SeriesData?, scale: Double = 1) -> JSONValue {
        .number(series?.latest.map { $0 * scale })
    }

    static func average(_ series: SeriesData?, scale: Double = 1) -> JSONValue {
        .number(series?.average.map { $0 * scale })
    }

    static func timestamp(_ series: [SeriesData?]) -> JSONValue {
        let latest = series.compactMap { $0?.latestMs }.max()
        return latest.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null
    }

    /// Points of several series merged by bucket: `[{"timestamp": ..., field: value, ...}]`.
    static func points(_ fields: [(String, SeriesData?, Double)]) -> JSONValue {
        var buckets: [Int64: [(String, Double)]] = [:]
        for (field, series, scale) in fields {
            for point in series?.points ?? [] {
                buckets[point.ms, default: []].append((field, point.value * scale))
            }
        }
        return .array(
            buckets.keys.sorted().map { ms in
                var pairs: [(String, JSONValue)] = [("timestamp", .string(Timestamp.iso8601(ms: ms)))]
                for (field, _, _) in fields {
                    pairs.append((field, .number(buckets[ms]?.first { $0.0 == field }?.1)))
                }
                return .object(pairs)
            }
        )
    }
}
