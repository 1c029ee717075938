import ArgumentParser
import Foundation
import Logging
import MonAgentKit
import MonCore
import MonTLS
import ServiceLifecycle

@main
struct MonAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monagent",
        abstract: "MnemoLite monitoring agent: samples this host and ships batches to monquery.",
        version: BuildInfo.current.versionLine(program: "monagent"),
        subcommands: [Run.self, Once.self, CheckConfig.self],
        defaultSubcommand: Run.self
    )

    /// ArgumentParser's `main`, except that a bad configuration (`ConfigError`, from any
    /// subcommand) exits with `ConfigError.exitStatus` (78) instead of 1; other failures keep
    /// their codes (`once` exits 2 when a collector failed; 64 for a usage error).
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ConfigError {
            LineLogHandler.writeFailure("Error: \(error)", environment: ProcessInfo.processInfo.environment)
            exit(withError: ExitCode(ConfigError.exitStatus))
        } catch {
            // A failure (not --help, --version or a usage error) carries the journal's error priority.
            let code = exitCode(for: error)
            guard code != .success, code != .validationFailure else { exit(withError: error) }
            LineLogHandler.writeFailure(fullMessage(for: error), environment: ProcessInfo.processInfo.environment)
            exit(withError: code)
        }
    }
}

struct AgentOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (default \(AgentConfig.defaultPath) when it exists).")
    var config: String?

    func load() throws -> AgentConfig { try Self.load(config) }

    /// `config` (or the default file when it exists), with the `MONAGENT_*` variables.
    static func load(_ config: String?) throws -> AgentConfig {
        let path =
            config ?? (FileManager.default.fileExists(atPath: AgentConfig.defaultPath) ? AgentConfig.defaultPath : nil)
        return try AgentConfig.load(path: path, environment: ProcessInfo.processInfo.environment)
    }
}

extension MonAgentCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Sample every interval and ship batches to monquery until SIGTERM/SIGINT; SIGHUP re-reads the configuration."
        )

        @OptionGroup var options: AgentOptions

        func run() async throws {
            let config = try options.load()
            LineLogHandler.bootstrap(config.log, environment: ProcessInfo.processInfo.environment)
            let logger = Logger(label: "monagent")
            // SIGHUP reads the same file (and MONAGENT_* variables) again; `log.level` applies
            // in place through the process's level control, other changed keys need a restart.
            let group = try await AgentBuilder.build(
                config: config, logger: logger, reload: { [path = options.config] in try AgentOptions.load(path) },
                applyLogLevel: { _ = LogLevelControl.shared.set($0) })
            logger.info(
                "monagent starting",
                metadata: [
                    "agent_id": "\(config.agentID)", "host": "\(config.host)", "interval_seconds": "\(config.interval)",
                    "daemon": "\(config.ingestRemote.map { "tls://\($0.host):\($0.port)" } ?? config.ingestSocket)",
                ]
            )
            try await group.run()
        }
    }

    struct Once: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect one cycle and print its samples as JSON lines (rates need a first cycle 1 s earlier)."
        )

        @OptionGroup var options: AgentOptions

        func run() async throws {
            let config = try options.load()
            let cycle = CollectionCycle(collectors: AgentBuilder.collectors(config))
            _ = cycle.run(timestampMs: WallClock.nowMs())
            try await Task.sleep(for: .seconds(1))
            let result = cycle.run(timestampMs: WallClock.nowMs())
            var out = ""
            for sample in result.samples {
                let labels = JSONValue.object(sample.labels.pairs.map { ($0.name, .string($0.value)) })
                let line: JSONValue = .object([
                    ("name", .string(sample.name)), ("labels", labels), ("kind", .string(sample.kind.name)),
                    ("timestamp_ms", .number(Double(sample.timestampMs))), ("value", .number(sample.value)),
                ])
                line.write(to: &out)
                out += "\n"
            }
            print(out, terminator: "")
            for failure in result.failures {
                FileHandle.standardError.write(Data("collector \(failure.collector) failed: \(failure.error)\n".utf8))
            }
            if !result.failures.isEmpty { throw ExitCode(2) }
        }
    }

    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a configuration file (and MONAGENT_* variables) and print the effective settings."
        )

        @OptionGroup var options: AgentOptions

        func run() async throws {
            let config = try options.load()
            _ = try config.ingestRemote.map(Shipper.Remote.init)
            print("configuration OK")
            print("  agent_id        \(config.agentID)")
            print("  host            \(config.host)")
            print("  interval        \(config.interval) s")
            if let remote = config.ingestRemote {
                print("  ingest.address  \(remote.host):\(remote.port) (TLS, token from ingest.token_file)")
            } else {
                print("  ingest.socket   \(config.ingestSocket)")
            }
            print("  collectors      \(config.collectors.joined(separator: ", "))")
            print("  processes       \(config.processGroups.map(\.name).joined(separator: ", "))")
            let statsd = config.statsd.address.map { "udp \($0.host):\($0.port)" } ?? "off"
            print("  statsd          \(statsd)\(config.statsd.socketPath.map { ", unix \($0)" } ?? "")")
            print("  logs.paths      \(config.logs.paths.isEmpty ? "none" : config.logs.paths.joined(separator: ", "))")
            print("  postgres        \(config.postgres == nil ? "off" : "on")")
            print("  redis           \(config.redis == nil ? "off" : "on")")
            let traces = config.traces.listen
            print(
                "  traces          \(config.traces.enabled ? "OTLP/HTTP http://\(traces.host):\(traces.port)/v1/traces" : "off")"
            )
        }
    }
}

/// Builds the agent's services from its configuration (testable apart from `main`).
enum AgentBuilder {
    static func collectors(_ config: AgentConfig) -> [any Collector] {
        HostCollectors.make(procRoot: config.procRoot, processGroups: config.processGroups)
            .filter { config.collectors.contains($0.name) }
    }

    /// `reload` reads the configuration again for SIGHUP (nil: no reload); `applyLogLevel`
    /// puts a reloaded `log_level` in force (nil: the level needs a restart).
    static func build(
        config: AgentConfig, logger: Logger, reload: (@Sendable () throws -> AgentConfig)? = nil,
        applyLogLevel: (@Sendable (Logger.Level) -> Void)? = nil
    ) async throws -> ServiceGroup {
        // The TLS settings of a remote daemon are read now: a bad CA file stops the start.
        let daemon = try config.ingestRemote.map(Shipper.Remote.init)
        let queue: any BatchQueue
        let shaper = BatchShaper(maxBatchBytes: config.maxBatchBytes)
        var bootID = UUID().uuidString.lowercased()
        if let spoolConfig = config.spool {
            do {
                let spool = try SpoolBatchQueue(config: spoolConfig, logger: logger, shaper: shaper)
                bootID = spool.bootID
                queue = spool
            } catch {
                logger.error(
                    "cannot open the spool; batches are kept in memory only (lost if the agent stops)",
                    metadata: ["error": "\(error)"])
                queue = MemoryBatchQueue(capacity: config.queueMaxBatches, shaper: shaper)
            }
        } else {
            queue = MemoryBatchQueue(capacity: config.queueMaxBatches, shaper: shaper)
        }
        let identity = AgentIdentity(
            agentID: config.agentID, host: config.host, bootID: bootID, version: BuildInfo.current.helloVersion,
            intervalMs: Int64((config.interval * 1000).rounded()))
        var shipperConfiguration = Shipper.Configuration(socketPath: config.ingestSocket, identity: identity)
        shipperConfiguration.backoffInitial = config.backoffInitial
        shipperConfiguration.backoffMaximum = config.backoffMaximum
        shipperConfiguration.remote = daemon
        var remote: [(String, any RemoteCollector)] = []
        if let postgres = config.postgres {
            remote.append(("postgres", PostgresCollector(config: postgres, logger: logger)))
        }
        if let redis = config.redis { remote.append(("redis", RedisCollector(config: redis, logger: logger))) }
        let appSignals = config.statsd.address != nil || config.statsd.socketPath != nil || !config.logs.paths.isEmpty
        // The sampler (with the StatsD and log flush) and each source report every tick: one batch per tick.
        let merger = CycleBatchMerger(
            queue: queue, producers: 1 + remote.count, wait: .seconds(min(1, config.interval / 2)))
        let sources = remote.map { name, collector in
            SourceRunner(name: name, queue: queue, collector: collector, merger: merger)
        }
        let aggregator =
            appSignals || config.traces.enabled
            ? AppAggregator(
                config: config.statsd, requests: config.requests, defaultService: config.logs.service,
                cacheTypes: config.redis?.cacheTypes ?? RedisSourceConfig.defaultCacheTypes) : nil
        var flushAppSignals: Sampler.Configuration.FlushAppSignals?
        if let aggregator { flushAppSignals = { aggregator.flush(timestampMs: $0) } }
        let sampler = Sampler(
            configuration: .init(
                interval: config.interval, trimsProgramCode: true, merger: merger, sources: sources,
                flushAppSignals: flushAppSignals),
            queue: queue,
            logger: logger
        ) { collectors(config) }
        let shipper = Shipper(configuration: shipperConfiguration, queue: queue, logger: logger)
        var services: [any Service] = [sampler]
        if let aggregator {
            if config.statsd.address != nil || config.statsd.socketPath != nil {
                services.append(StatsDReceiver(config: config.statsd, aggregator: aggregator, logger: logger))
            }
            if !config.logs.paths.isEmpty {
                services.append(
                    LogService(
                        config: config.logs, stateDir: config.stateDir, queue: queue, aggregator: aggregator,
                        logger: logger))
            }
        }
        if config.traces.enabled {
            // The OTLP/HTTP trace intake; its counters go through the aggregator's flush.
            let intake = OTLPIntake(
                config: config.traces, converter: try SpanConverter(config: config.traces, logs: config.logs),
                queue: queue, counters: aggregator)
            services.append(OTLPServer(config: config.traces, intake: intake, counters: aggregator, logger: logger))
        }
        services.append(shipper)
        let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        if notifier.isEnabled {
            services.append(WatchdogService(notifier: notifier, readyStatus: "collecting every \(config.interval)"))
        }
        if let reload {
            let reloader = ConfigReloader(
                running: config, stats: ConfigReloadStats(startedMs: WallClock.nowMs()), logger: logger, load: reload,
                plan: { running, new in running.reloadPlan(to: new, applyLogLevel: applyLogLevel) })
            services.append(await ReloadService { await reloader.reload() })
        }
        return ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
    }
}
