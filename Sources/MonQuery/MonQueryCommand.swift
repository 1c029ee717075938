import ArgumentParser
import Foundation
import Logging
import MonCore
import MonQueryKit
import MonTLS

@main
struct MonQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monquery",
        abstract: "MnemoLite monitoring daemon: stores what agents send and serves the monitoring API.",
        version: BuildInfo.current.versionLine(program: "monquery"),
        subcommands: [Serve.self, Migrate.self, Retention.self, Report.self, CheckConfig.self, HashToken.self],
        defaultSubcommand: Serve.self
    )

    /// ArgumentParser's `main`, except that a bad configuration (`ConfigError`, from any
    /// subcommand) exits with `ConfigError.exitStatus` (78) instead of 1; other failures keep
    /// their codes (1, or 64 for a usage error). A clean shutdown on SIGTERM/SIGINT exits 0.
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

struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (default \(QueryConfig.defaultPath) when it exists).")
    var config: String?

    func load() throws -> QueryConfig { try Self.load(config) }

    /// `config` (or the default file when it exists), with the `MONQUERY_*` variables.
    static func load(_ config: String?) throws -> QueryConfig {
        let path =
            config ?? (FileManager.default.fileExists(atPath: QueryConfig.defaultPath) ? QueryConfig.defaultPath : nil)
        return try QueryConfig.load(path: path, environment: ProcessInfo.processInfo.environment)
    }
}

extension MonQueryCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run migrations, then listen on the ingest socket and on HTTP until SIGTERM/SIGINT; SIGHUP reloads rules, tokens, certificates."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            let logger = makeLogger(config.log)
            // SIGHUP reads the same file (and MONQUERY_* variables) again; `log.level` applies
            // in place through the process's level control.
            let app = try await buildApplication(
                config: config, logger: logger, reload: { [path = options.config] in try ConfigOptions.load(path) },
                applyLogLevel: { _ = LogLevelControl.shared.set($0) })
            try await app.runService()
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema, then exit.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            let logger = makeLogger(config.log)
            let writer = IngestWriter(
                databaseURL: config.databaseURL, password: config.databasePassword, logger: logger)
            let applied = try await writer.migrate()
            try await writer.maintainPartitions(aheadDays: config.partitionsAheadDays, nowMs: WallClock.nowMs())
            print(
                applied.isEmpty
                    ? "schema is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))"
            )
        }
    }

    struct Retention: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Drop the daily partitions past their retention and trim the ingest ledger (the daemon does it hourly)."
        )

        @OptionGroup var options: ConfigOptions

        @Flag(name: .long, help: "Only print what would be dropped.")
        var dryRun = false

        func run() async throws {
            let config = try options.load()
            let logger = makeLogger(config.log)
            let writer = IngestWriter(
                databaseURL: config.databaseURL, password: config.databasePassword, logger: logger)
            let nowMs = WallClock.nowMs()
            let expired = try await writer.expiredPartitions(policy: config.retention, nowMs: nowMs)
            for table in Schema.partitionedTables {
                print("\(table): keep \(config.retention.days[table] ?? 0) days")
            }
            if expired.isEmpty { print("nothing to drop") }
            for partition in expired {
                let size = Double(partition.bytes) / 1_048_576
                let verb =
                    partition.waitingForRollup
                    ? "keeping (rollups not past it yet)" : dryRun ? "would drop" : "dropping"
                let state = partition.state == .attached ? "" : ", \(partition.state.rawValue)"
                print(
                    "\(verb) \(partition.partition) (\(Timestamp.iso8601(ms: partition.day.day * DayPartition.millisecondsPerDay).prefix(10)), ~\(partition.estimatedRows) rows, \((size * 10).rounded() / 10) MiB\(state))"
                )
            }
            guard !dryRun else { return }
            await PartitionMaintenance.applyRetention(
                config.retention, writers: IngestWriterPool(writers: [writer]), nowMs: nowMs, logger: logger)
        }
    }

    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a configuration file (and MONQUERY_* variables) and print the result."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            // TLS files are read and matched now, as `serve` would.
            _ = try config.httpTLS?.serverContext()
            _ = try config.ingestTCP.map(IngestServer.TCPListener.init)
            _ = try alertNotifiers(config: config, logger: Logger(label: "check-config"))
            print("configuration OK")
            print("  database.url    \(SecretRedaction.redactURL(config.databaseURL))")
            if let readURL = config.databaseReadURL {
                print("  database.read_url \(SecretRedaction.redactURL(readURL)) (the API reads here)")
            }
            print("  http.listen     \(config.httpHost):\(config.httpPort)\(config.httpTLS == nil ? "" : " (TLS)")")
            print("  ingest.socket   \(config.ingestSocket)")
            if let tcp = config.ingestTCP {
                print("  ingest.tcp      \(tcp.host):\(tcp.port) (TLS, \(tcp.tokens.count) token(s))")
            }
            let alerts = config.alerts
            print("  alerts          \(alerts.enabled ? "enabled" : "disabled"), \(alerts.rules.count) rule(s)")
            for rule in alerts.rules {
                print("    " + rule.checkConfigLine)
            }
            if let url = alerts.webhookURL {
                print(
                    "  alerts.webhook  \(SecretRedaction.redactURL(url.absoluteString)) (auth: \(alerts.webhookSecurity.auth.kind))"
                )
            }
            for endpoint in alerts.alertmanager?.endpoints ?? [] {
                print(
                    "  alertmanager    \(SecretRedaction.redactURL(endpoint.absoluteString)) (auth: \(alerts.alertmanager?.auth.kind ?? "none"))"
                )
            }
            for destination in config.remoteWrite {
                print(
                    "  remote_write    \(destination.name): \(destination.redactedURL) (auth: \(destination.auth.kind))"
                )
            }
        }
    }
}

/// Installs the line handler for every logger of the process (logfmt or JSON, journal
/// priorities under systemd; `LogLevelControl.shared` holds the level) and returns monquery's.
func makeLogger(_ settings: LogSettings) -> Logger {
    LineLogHandler.bootstrap(settings, environment: ProcessInfo.processInfo.environment)
    return Logger(label: "monquery")
}

extension MonQueryCommand {
    struct HashToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash-token",
            abstract: "Print the SHA-256 to put in auth.viewer_tokens / auth.admin_tokens for a token read from stdin.",
            discussion: """
                The token is read from standard input (never from the command line, where `ps` would show it).
                With --generate, a new random token is made and printed once, with its hash.
                """
        )

        @Flag(name: .long, help: "Generate a new random 256-bit token instead of reading one.")
        var generate = false

        func run() throws {
            let token: String
            if generate {
                var generator = SystemRandomNumberGenerator()
                token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
                    .joined()
                print("token:  \(token)")
            } else {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("no token on standard input")
                }
                token = line.trimmingCharacters(in: .whitespaces)
            }
            print("sha256: \(SHA256.hex(Array(token.utf8)))")
        }
    }
}
