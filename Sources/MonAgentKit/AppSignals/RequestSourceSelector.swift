import MonCore

/// Where a request observation came from: a StatsD timer or an access-log event.
public enum RequestSource: String, Sendable, CaseIterable {
    case statsd
    case logs
}

/// `requests.*` — which input counts the application's HTTP requests when it reports each
/// request both as a StatsD timer and as an access-log event. Every key is documented in
/// `config/monagent.yaml` and the README.
public struct RequestsConfig: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// StatsD for a service that sent request timers within the expiry window, logs otherwise.
        case auto
        /// StatsD timers only; access-log request events are dropped (and counted).
        case statsd
        /// Access-log request events only; StatsD request timers are dropped (and counted).
        case logs
    }

    /// `requests.source` — auto (default), statsd or logs.
    public var mode = Mode.auto
    /// `requests.statsd_expiry_seconds` — in auto, how long after a service's last StatsD request
    /// timer its log events still count as duplicates (default 60).
    public var statsdExpirySeconds = 60.0

    public init(mode: Mode = .auto, statsdExpirySeconds: Double = 60) {
        self.mode = mode
        self.statsdExpirySeconds = statsdExpirySeconds
    }

    init(source: ConfigSource) throws {
        mode = try source.choice("requests.source", default: Mode.auto)
        statsdExpirySeconds = try source.double("requests.statsd_expiry_seconds", default: 60, range: 1...86_400)
    }
}

/// Decides, per request observation, whether it counts: one request reported both as a
/// StatsD timer and as an access-log event is counted once.
///
/// In `auto`, a service that has sent a StatsD request timer within `statsd_expiry_seconds`
/// is counted from StatsD only and its log request events are duplicates; a service that
/// never did (or stopped longer ago) is counted from its log events. `statsd` and `logs`
/// force one input. A StatsD timer's service is its `service` tag, else the default service
/// (`logs.service`), the same default a log line without a `service` field gets.
public struct RequestSourceSelector: Sendable {
    /// Most services remembered; beyond it expired ones are forgotten first, then new ones
    /// are not remembered (their log events then count) and the refusal is counted.
    public static let maxServices = 1000

    public let config: RequestsConfig
    public let defaultService: String
    private var lastStatsDMs: [String: Int64] = [:]
    /// Services not remembered because the table was full (`mon_agent_requests_services_dropped_total`).
    public private(set) var servicesRefused = 0

    public init(config: RequestsConfig, defaultService: String) {
        self.config = config
        self.defaultService = defaultService
    }

    var expiryMs: Int64 { Int64(config.statsdExpirySeconds * 1000) }

    /// Whether an observation from `source` for `service` (nil: the default) at `nowMs` counts.
    public mutating func admit(_ source: RequestSource, service: String?, nowMs: Int64) -> Bool {
        switch config.mode {
        case .statsd: return source == .statsd
        case .logs: return source == .logs
        case .auto:
            let name = service ?? defaultService
            switch source {
            case .statsd:
                remember(name, nowMs)
                return true
            case .logs:
                guard let last = lastStatsDMs[name] else { return true }
                return nowMs - last > expiryMs
            }
        }
    }

    private mutating func remember(_ service: String, _ nowMs: Int64) {
        if lastStatsDMs[service] == nil, lastStatsDMs.count >= Self.maxServices {
            let expiry = expiryMs
            lastStatsDMs = lastStatsDMs.filter { nowMs - $0.value <= expiry }
            guard lastStatsDMs.count < Self.maxServices else {
                servicesRefused += 1
                return
            }
        }
        lastStatsDMs[service] = nowMs
    }
}
