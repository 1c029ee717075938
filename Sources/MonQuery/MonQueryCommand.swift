import ArgumentParser
import Foundation
import Logging
import MonCore

@main
struct MonQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monquery",
        abstract: "MnemoLite monitoring daemon: stores what agents send and serves the monitoring API.",
        subcommands: [Serve.self, Migrate.self, CheckConfig.self],
        defaultSubcommand: Serve.self
    )
}

struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (default \(QueryConfig.defaultPath) when it exists).")
    var config: String?

    func load() throws -> QueryConfig {
        let path =
            config ?? (FileManager.default.fileExists(atPath: QueryConfig.defaultPath) ? QueryConfig.defaultPath : nil)
        return try QueryConfig.load(path: path, environment: ProcessInfo.processInfo.environment)
    }
}

extension MonQueryCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run migrations, then listen on the ingest socket and on HTTP until SIGTERM/SIGINT."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            let logger = makeLogger(config.logLevel)
            let app = try await buildApplication(config: config, logger: logger)
            try await app.runService()
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema, then exit.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            let logger = makeLogger(config.logLevel)
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

    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a configuration file (and MONQUERY_* variables) and print the result."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            print("configuration OK")
            print("  database.url    \(SecretRedaction.redactURL(config.databaseURL))")
            print("  http.listen     \(config.httpHost):\(config.httpPort)")
            print("  ingest.socket   \(config.ingestSocket)")
        }
    }
}

func makeLogger(_ level: String) -> Logger {
    var logger = Logger(label: "monquery")
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}
