import MonCore

/// The OTLP/HTTP trace intake (`traces.*`). Every key is documented in `config/monagent.yaml`;
/// each needs a restart (the listener is bound once).
public struct TracesConfig: Sendable {
    /// `traces.enabled` — listen for OTLP/HTTP spans (default true: on loopback only, the
    /// address an OpenTelemetry SDK exports to by default).
    public var enabled = true
    /// `traces.otlp_listen` — `host:port` of the listener (default `127.0.0.1:4318`, OTLP/HTTP's port).
    public var listen: (host: String, port: Int) = ("127.0.0.1", 4318)
    /// `traces.max_body_bytes` — largest request body, compressed and after inflating
    /// (default 4 MiB, 1 KiB … 64 MiB); a larger one is answered 413.
    public var maxBodyBytes = 4 << 20
    /// `traces.default_service` — service of spans whose resource has no `service.name`
    /// (default `logs.service`, itself `mnemolite` by default).
    public var defaultService = "mnemolite"
    /// `traces.max_pending_spans` — spans queued and not acked by the daemon yet above which
    /// requests are answered 503 with `Retry-After` (default 100 000, 100 … 10 000 000): the
    /// SDK keeps its spans and retries; the agent's memory and spool stay bounded.
    public var maxPendingSpans = 100_000
    /// `traces.max_connections` — open connections at most (default 256); more are closed at once.
    public var maxConnections = 256
    /// `traces.idle_timeout_seconds` — a connection that sends nothing for this long is closed
    /// (default 30): a slow client cannot hold a connection slot for ever.
    public var idleTimeoutSeconds = 30
    /// `traces.max_events_per_span` — events kept per span (default 16; the rest are counted
    /// in the span's `dropped_events` attribute).
    public var maxEventsPerSpan = 16
    /// `traces.max_attribute_bytes` — an attribute's value longer than this is cut (default 4096).
    public var maxAttributeBytes = 4096

    public init() {}

    init(source: ConfigSource, defaultService: String) throws {
        enabled = try source.bool("traces.enabled", default: true)
        let listenText = source.string("traces.otlp_listen", default: "127.0.0.1:4318")
        let (host, port) = try ListenAddress.parse(listenText, key: "traces.otlp_listen")
        listen = (host, port)
        maxBodyBytes = try source.int("traces.max_body_bytes", default: 4 << 20, range: 1024...(64 << 20))
        self.defaultService = source.string("traces.default_service", default: defaultService)
        guard !self.defaultService.isEmpty else {
            throw ConfigError(key: "traces.default_service", message: "must not be empty")
        }
        maxPendingSpans = try source.int("traces.max_pending_spans", default: 100_000, range: 100...10_000_000)
        maxConnections = try source.int("traces.max_connections", default: 256, range: 1...100_000)
        idleTimeoutSeconds = try source.int("traces.idle_timeout_seconds", default: 30, range: 1...3600)
        maxEventsPerSpan = try source.int("traces.max_events_per_span", default: 16, range: 0...1000)
        maxAttributeBytes = try source.int("traces.max_attribute_bytes", default: 4096, range: 64...(1 << 20))
    }
}
