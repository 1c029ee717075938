import Glibc
import MonCore

/// The application-signal inputs of monagent: StatsD (`statsd.*`) and JSON logs (`logs.*`).
/// Every key is documented in `config/monagent.yaml`.
public struct StatsDConfig: Sendable {
    /// `statsd.address` — UDP `host:port` to listen on (default `127.0.0.1:8125`; empty = off).
    public var address: (host: String, port: Int)?
    /// `statsd.socket` — also listen on this Unix datagram socket (default none).
    public var socketPath: String?
    /// `statsd.prefix` — prepended to application metric names (default `app_`).
    public var prefix = "app_"
    /// `statsd.max_tag_sets` — distinct tag sets kept per metric; more fold into `overflow="true"` (default 500).
    public var maxTagSets = 500
    /// `statsd.max_metrics` — distinct metric names kept; lines for more are dropped and counted (default 2000).
    public var maxMetrics = 2000
    /// `statsd.receive_buffer_bytes` — receive buffer of each StatsD socket (default 16 MiB:
    /// the kernel charges about 830 bytes per small datagram, so 16 MiB — 32 once doubled — hold
    /// about 160 ms at 250 000 datagrams/s while the receiver waits for a core; the kernel caps
    /// it at `net.core.rmem_max` unless the agent may force it).
    public var receiveBufferBytes = 16 * 1024 * 1024
    /// `statsd.request_metrics` — timer names that are HTTP request durations of the application.
    public var requestMetrics: Set<String> = StatsDConfig.defaultRequestMetrics

    public static let defaultRequestMetrics: Set<String> = [
        "http.request.duration", "http_request_duration", "http.server.duration", "request.duration",
        "request_latency", "api.request.duration", "api.latency",
    ]

    public init() { address = ("127.0.0.1", 8125) }

    init(source: ConfigSource) throws {
        self.init()
        let addressText = source.string("statsd.address", default: "127.0.0.1:8125")
        address = addressText.isEmpty ? nil : try Self.parseAddress(addressText, key: "statsd.address")
        socketPath = source.optionalString("statsd.socket")
        prefix = source.string("statsd.prefix", default: "app_")
        guard prefix.utf8.allSatisfy({ MetricNames.isNameByte($0) }) else {
            throw ConfigError(key: "statsd.prefix", message: "'\(prefix)' may only hold letters, digits and '_'")
        }
        maxTagSets = try source.int("statsd.max_tag_sets", default: 500, range: 1...100_000)
        maxMetrics = try source.int("statsd.max_metrics", default: 2000, range: 1...1_000_000)
        receiveBufferBytes = try source.int(
            "statsd.receive_buffer_bytes", default: 16 * 1024 * 1024, range: 65536...(1 << 30))
        requestMetrics = Set(
            try source.stringList("statsd.request_metrics", default: Self.defaultRequestMetrics.sorted()))
    }

    /// `host:port` with a port in 1...65535; `[::1]:8125` for IPv6.
    static func parseAddress(_ text: String, key: String) throws -> (host: String, port: Int) {
        let (host, port) = try ListenAddress.parse(text, key: key)
        guard port > 0 else { throw ConfigError(key: key, message: "'\(text)' needs a port in 1...65535") }
        return (host, port)
    }
}

/// The JSON log input (`logs.*`; off when `logs.paths` is empty).
public struct LogsConfig: Sendable {
    public enum StartPosition: String, Sendable {
        case end
        case beginning
    }

    /// `logs.paths` — files to tail, globs allowed (env `MONAGENT_LOGS_PATHS` or `MONAGENT_LOG_PATHS`, comma-separated).
    public var paths: [String] = []
    /// `logs.start_at` — where to start in a file seen for the first time: end (default) or beginning.
    public var startAt = StartPosition.end
    /// `logs.poll_interval_ms` — how often files are checked for new lines (default 250).
    public var pollIntervalMs = 250
    /// `logs.service` — service name of lines that do not carry one (default `mnemolite`).
    public var service = "mnemolite"
    /// `logs.max_line_bytes` — longer lines are cut there and counted (default 65536).
    public var maxLineBytes = 65536
    /// `logs.redact_keys` — fields whose name contains one of these are masked (case-insensitive).
    public var redactKeys = LogsConfig.defaultRedactKeys
    /// `logs.redact_patterns` — regular expressions masked in every string value and plain line.
    public var redactPatterns = LogsConfig.defaultRedactPatterns
    /// `logs.request.*` — which fields make a log event an HTTP request observation.
    public var request = RequestFields()
    /// `logs.allowed_owners` — user names or uids whose files may be followed; empty (the
    /// default) = any owner. Symlinks, FIFOs, devices and hard links are refused regardless.
    public var allowedOwners: [UInt32]? = nil

    public struct RequestFields: Sendable {
        /// `logs.request.path_keys` (default path, endpoint, route).
        public var pathKeys = ["path", "endpoint", "route"]
        /// `logs.request.method_keys` (default method, http_method).
        public var methodKeys = ["method", "http_method"]
        /// `logs.request.status_keys` (default status_code, status, http_status).
        public var statusKeys = ["status_code", "status", "http_status"]
        /// `logs.request.duration_keys` (default duration_ms, latency_ms, elapsed_ms, elapsed, duration).
        /// A key ending in `_ms` is milliseconds, `_s`/`_seconds` seconds, others `duration_unit`.
        public var durationKeys = ["duration_ms", "latency_ms", "elapsed_ms", "elapsed", "duration"]
        /// `logs.request.duration_unit` — ms (default) or s, for keys without a unit suffix.
        public var durationUnitSeconds = false
    }

    public static let defaultRedactKeys = [
        "password", "passwd", "pwd", "token", "authorization", "secret", "api_key", "apikey", "cookie",
        "credential", "private_key",
    ]
    public static let defaultRedactPatterns = [
        #"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"#,
        #"(?i)\b(password|passwd|pwd|secret|token|api_key|apikey|access_token)=[^\s&"',;]+"#,
        #"://[^/\s:@]+:[^/\s@]+@"#,
    ]

    public init() {}

    init(source: ConfigSource) throws {
        paths = try source.stringList("logs.paths", default: [], alias: source.envPrefix + "_LOG_PATHS")
        let start = source.string("logs.start_at", default: "end")
        guard let position = StartPosition(rawValue: start) else {
            throw ConfigError(key: "logs.start_at", message: "'\(start)' is not end or beginning")
        }
        startAt = position
        pollIntervalMs = try source.int("logs.poll_interval_ms", default: 250, range: 10...60_000)
        service = source.string("logs.service", default: "mnemolite")
        maxLineBytes = try source.int("logs.max_line_bytes", default: 65536, range: 256...(16 << 20))
        redactKeys = try source.stringList("logs.redact_keys", default: Self.defaultRedactKeys).map {
            $0.lowercased().replacingOccurrences(of: "-", with: "_")
        }
        redactPatterns = try source.stringList("logs.redact_patterns", default: Self.defaultRedactPatterns)
        for (index, pattern) in redactPatterns.enumerated() {
            do {
                _ = try Regex(pattern)
            } catch {
                throw ConfigError(
                    key: "logs.redact_patterns[\(index)]", message: "invalid regular expression: \(error)")
            }
        }
        request.pathKeys = try source.stringList("logs.request.path_keys", default: request.pathKeys)
        request.methodKeys = try source.stringList("logs.request.method_keys", default: request.methodKeys)
        request.statusKeys = try source.stringList("logs.request.status_keys", default: request.statusKeys)
        request.durationKeys = try source.stringList("logs.request.duration_keys", default: request.durationKeys)
        let unit = source.string("logs.request.duration_unit", default: "ms")
        guard unit == "ms" || unit == "s" else {
            throw ConfigError(key: "logs.request.duration_unit", message: "'\(unit)' is not ms or s")
        }
        request.durationUnitSeconds = unit == "s"
        let owners = try source.stringList("logs.allowed_owners", default: [])
        allowedOwners = owners.isEmpty ? nil : try owners.map { try Self.uid(of: $0) }
    }

    /// A user name or a numeric uid, resolved once at start (`logs.allowed_owners`).
    static func uid(of owner: String) throws -> UInt32 {
        if let uid = UInt32(owner) { return uid }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(owner, &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            throw ConfigError(
                key: "logs.allowed_owners", message: "'\(owner)' is neither a uid nor a user on this host")
        }
        return entry.pw_uid
    }
}
