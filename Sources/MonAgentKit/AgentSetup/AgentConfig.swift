import Foundation
import MonCore

/// monagent's configuration. Every key is documented in `config/monagent.yaml`;
/// every scalar can be overridden by `MONAGENT_<KEY>` (dots become underscores).
public struct AgentConfig: Sendable {
    /// Default file read when `--config` is not given (absent file = defaults).
    public static let defaultPath = "/etc/mon/monagent.yaml"

    /// `agent_id` — identity in the ingest ledger (default: the host name).
    public var agentID: String
    /// `host` — the `host` of every series this agent sends (default: the host name).
    public var host: String
    /// `interval` — seconds between cycles (default 5; 0.05...3600).
    public var interval: Double
    /// `state_dir` — where the agent keeps state (default `/var/lib/monagent`).
    public var stateDir: String
    /// `log.level` (trace … critical, default info; the older `log_level` is still read) and
    /// `log.format` (logfmt or json) — `LogSettings`.
    public var log: LogSettings
    /// `ingest.socket` — the daemon's socket (default `/run/monquery/ingest.sock`).
    public var ingestSocket: String
    /// `ingest.address` — `host:port` of a remote monquery's TCP listener; when set, the agent
    /// connects there over TLS (checked against `ingest.tls.ca_file`, or the system's roots;
    /// name `ingest.tls.server_name`, default the host) and presents the token read from
    /// `ingest.token_file`, instead of using `ingest.socket`.
    public var ingestRemote: RemoteIngestSettings?
    /// `ingest.queue_max_batches` — batches kept in memory while the daemon is away (default 720).
    public var queueMaxBatches: Int
    /// `ingest.max_batch_bytes` — largest encoded batch (default 4 MiB, 64 KiB … 1 GiB): a larger
    /// one is split, a record larger alone is dropped (counted). Keep it below the daemon's
    /// `ingest.max_frame_bytes` (default 16 MiB).
    public var maxBatchBytes: Int
    /// `ingest.backoff_initial_seconds` / `ingest.backoff_max_seconds` — reconnect backoff (0.1 / 10).
    public var backoffInitial: Double
    public var backoffMaximum: Double
    /// `proc.root` — procfs mount to read (default `/proc`; tests point it at fixtures).
    public var procRoot: String
    /// `collectors` — host collectors to run (default all: cpu, memory, disk, filesystem, network, process).
    public var collectors: [String]
    /// `processes` — process groups to watch (default uvicorn, postgres, redis-server, monagent).
    public var processGroups: [ProcessGroup]
    /// `postgres.*` — the PostgreSQL source; nil when `postgres.url` is not set.
    public var postgres: PostgresSourceConfig?
    /// `redis.*` — the Redis source; nil when `redis.url` is not set.
    public var redis: RedisSourceConfig?
    /// `statsd.*` — the StatsD / DogStatsD receiver.
    public var statsd: StatsDConfig
    /// `logs.*` — the JSON log tailer (off while `logs.paths` is empty).
    public var logs: LogsConfig
    /// `requests.*` — which input counts the application's requests (StatsD timers, log events).
    public var requests = RequestsConfig()
    /// `traces.*` — the OTLP/HTTP trace intake (`TracesConfig`).
    public var traces = TracesConfig()
    /// `spool.*` — the durable disk spool of unacked batches; nil when `spool.enabled` is false.
    public var spool: SpoolConfig?
    /// The file's keys and values as written, compared by a reload (`AgentConfig+Reload`).
    public var fileValues: [String: String] = [:]

    /// `ingest.address` with its TLS settings and token.
    static func remote(_ source: ConfigSource) throws -> RemoteIngestSettings? {
        let address = source.string("ingest.address", default: "")
        let caFile = source.string("ingest.tls.ca_file", default: "")
        let serverName = source.string("ingest.tls.server_name", default: "")
        let token = try source.secretFile("ingest.token_file")
        guard !address.isEmpty else { return nil }
        let (host, port) = try ListenAddress.parse(address, key: "ingest.address")
        guard let token, !token.isEmpty else {
            throw ConfigError(
                key: "ingest.token_file",
                message: "is required with ingest.address: the daemon refuses remote agents without a token")
        }
        let tls = TLSClientSettings(
            caFile: caFile.isEmpty ? nil : caFile, serverName: serverName.isEmpty ? nil : serverName)
        return RemoteIngestSettings(host: host, port: port, tls: tls, token: token)
    }

    public static let allCollectors = ["cpu", "memory", "disk", "filesystem", "network", "process"]

    /// Loads `path` (nil: defaults only) and applies `MONAGENT_*` overrides from `environment`.
    public static func load(path: String?, environment: [String: String]) throws -> AgentConfig {
        let source = try ConfigSource(path: path, envPrefix: "MONAGENT", environment: environment)
        return try AgentConfig(source: source)
    }

    public init(source: ConfigSource) throws {
        let hostname = HostName.current()
        agentID = source.string("agent_id", default: hostname)
        host = source.string("host", default: hostname)
        interval = try source.double("interval", default: 5, range: 0.05...3600)
        stateDir = source.string("state_dir", default: "/var/lib/monagent")
        log = try LogSettings(source: source)
        ingestSocket = source.string("ingest.socket", default: "/run/monquery/ingest.sock")
        ingestRemote = try Self.remote(source)
        queueMaxBatches = try source.int("ingest.queue_max_batches", default: 720, range: 1...1_000_000)
        maxBatchBytes = try source.int(
            "ingest.max_batch_bytes", default: BatchShaper.defaultMaxBatchBytes, range: (64 << 10)...(1 << 30))
        backoffInitial = try source.double("ingest.backoff_initial_seconds", default: 0.1, range: 0.001...60)
        backoffMaximum = try source.double("ingest.backoff_max_seconds", default: 10, range: 0.01...3600)
        if try source.bool("spool.enabled", default: true) {
            spool = SpoolConfig(
                directory: source.string("spool.directory", default: stateDir + "/spool"),
                maxBytes: try source.int("spool.max_bytes", default: 64 << 20, range: (64 << 10)...(1 << 40)),
                maxAgeSeconds: try source.int("spool.max_age_seconds", default: 86_400, range: 60...(366 * 86_400)),
                fsync: try source.bool("spool.fsync", default: true),
                memoryMaxBytes: try source.int(
                    "spool.memory_max_bytes", default: 8 << 20, range: (64 << 10)...(1 << 32)),
                fsyncDelayMs: try source.int("spool.fsync_delay_ms", default: 1000, range: 0...60_000))
        } else {
            spool = nil
        }
        procRoot = source.string("proc.root", default: "/proc")
        collectors = try source.stringList("collectors", default: Self.allCollectors)
        for name in collectors where !Self.allCollectors.contains(name) {
            throw ConfigError(
                key: "collectors",
                message: "unknown collector '\(name)'; known: \(Self.allCollectors.joined(separator: ", "))"
            )
        }
        if let groups = try source.mappingList("processes") {
            processGroups = try groups.enumerated().map { index, item in
                guard let name = item["name"]?.first, !name.isEmpty else {
                    throw ConfigError(key: "processes[\(index)].name", message: "every process group needs a name")
                }
                let comm = item["comm"] ?? []
                let cmdline = item["cmdline"] ?? []
                guard !comm.isEmpty || !cmdline.isEmpty else {
                    throw ConfigError(
                        key: "processes[\(index)]",
                        message: "group '\(name)' needs 'comm' or 'cmdline' patterns"
                    )
                }
                for key in item.keys where !["name", "comm", "cmdline"].contains(key) {
                    throw ConfigError(key: "processes[\(index)].\(key)", message: "unknown key")
                }
                return ProcessGroup(name: name, comm: comm, cmdline: cmdline)
            }
        } else {
            processGroups = ProcessGroup.defaults
        }
        postgres = try PostgresSourceConfig(source: source)
        redis = try RedisSourceConfig(source: source)
        statsd = try StatsDConfig(source: source)
        logs = try LogsConfig(source: source)
        requests = try RequestsConfig(source: source)
        traces = try TracesConfig(source: source, defaultService: logs.service)
        try source.finish()
        fileValues = source.fileValues
    }
}
