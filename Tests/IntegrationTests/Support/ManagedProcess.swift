import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A monquery or monagent child process with its output captured to a file.
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let logPath: String
    private let process = Process()

    /// `binary` is looked up in the build directory unless it is an absolute path.
    init(binary: String, arguments: [String], environment: [String: String], logPath: String) throws {
        guard let directory = binary.hasPrefix("/") ? "" : TestEnvironment.binDirectory else {
            throw TestFailure("MON_TEST_BIN_DIR not set")
        }
        name = binary
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        _ = try log.seekToEnd()
        process.executableURL = URL(fileURLWithPath: directory.isEmpty ? binary : "\(directory)/\(binary)")
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("MONAGENT_") && !$0.key.hasPrefix("MONQUERY_")
        }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends `number` (SIGHUP: reload) without waiting.
    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Sends `signal` and waits for the process to exit: at most 20 s, then SIGKILL.
    ///
    /// Called from `defer`, so on a thread of the cooperative pool: a child that ignored
    /// SIGTERM must not hold that thread for longer than this bound.
    func stop(_ signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            FileHandle.standardError.write(
                Data(
                    "\(name) (pid \(pid)) still running 20 s after signal \(signal); killing it. Log: \(logPath)\n".utf8
                ))
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { stop(SIGKILL) }
}

/// A running monquery with its own database, socket and HTTP port.
struct Daemon {
    /// API tokens of a daemon started with authentication on.
    struct Tokens {
        var viewer = "viewer-\(UInt64.random(in: 0...UInt64.max))"
        var admin = "admin-\(UInt64.random(in: 0...UInt64.max))"
    }

    let databaseURL: String
    let socketPath: String
    let httpPort: Int
    let directory: String
    /// When set, the daemon requires these tokens and `get` sends the admin one.
    var tokens: Tokens? = nil

    static func make(authenticated: Bool = false) throws -> Daemon {
        let directory = try TestEnvironment.makeDirectory("daemon")
        return Daemon(
            databaseURL: try TestEnvironment.makeDatabase(),
            socketPath: "\(directory)/ingest.sock",
            httpPort: TestEnvironment.freePort(),
            directory: directory,
            tokens: authenticated ? Tokens() : nil
        )
    }

    /// `arguments` follow `serve` (e.g. `--config <file>` for keys no variable can set).
    func start(extra: [String: String] = [:], log: String = "monquery.log", arguments: [String] = []) throws
        -> ManagedProcess
    {
        var environment = [
            "MONQUERY_DATABASE_URL": databaseURL,
            "MONQUERY_INGEST_SOCKET": socketPath,
            "MONQUERY_HTTP_LISTEN": "127.0.0.1:\(httpPort)",
            // Alert rules are off unless a test turns them on: forty daemons evaluating the
            // default rules at once slowed the parallel run until tests timed out.
            "MONQUERY_ALERTS_ENABLED": "false",
            // The same for anomaly detection (AnomalyTests turns it on).
            "MONQUERY_ANOMALIES_ENABLED": "false",
        ]
        if let tokens {
            environment["MONQUERY_AUTH_VIEWER_TOKENS"] = "ui:" + SHA256.hex(Array(tokens.viewer.utf8))
            environment["MONQUERY_AUTH_ADMIN_TOKENS"] = "ops:" + SHA256.hex(Array(tokens.admin.utf8))
        }
        environment.merge(extra) { $1 }
        return try ManagedProcess(
            binary: "monquery", arguments: ["serve"] + arguments, environment: environment,
            logPath: "\(directory)/\(log)")
    }

    func startAgent(
        interval: Double = 0.2,
        host: String = "it-host",
        agentID: String = "it-agent",
        extra: [String: String] = [:],
        wrapper: [String] = [],
        arguments: [String] = []
    ) throws -> ManagedProcess {
        // `wrapper` runs the agent through another program (e.g. setpriv as another user).
        try ManagedProcess(
            binary: wrapper.first ?? "monagent",
            arguments: (wrapper.isEmpty ? ["run"] : Array(wrapper.dropFirst()) + ["run"]) + arguments,
            environment: [
                "MONAGENT_STATSD_ADDRESS": "",
                // Agents run in parallel: the OTLP listener (127.0.0.1:4318) only where a test asks for it.
                "MONAGENT_TRACES_ENABLED": "false",
            ].merging(extra) { $1 }.merging([
                "MONAGENT_INGEST_SOCKET": socketPath,
                "MONAGENT_INTERVAL": "\(interval)",
                "MONAGENT_HOST": host,
                "MONAGENT_AGENT_ID": agentID,
                "MONAGENT_STATE_DIR": directory,
                // One spool per agent: several agents share the daemon's directory.
                "MONAGENT_SPOOL_DIRECTORY": "\(directory)/spool-\(agentID)",
                "MONAGENT_INGEST_BACKOFF_MAX_SECONDS": "0.5",
            ]) { $1 },
            logPath: "\(directory)/monagent-\(agentID).log"
        )
    }

    /// GET on the daemon's HTTP API: status and parsed JSON body. `token` overrides the
    /// admin token sent to an authenticated daemon ("" sends none).
    func get(_ path: String, token: String? = nil) async throws -> (status: Int, json: Any) {
        let url = try #require(URL(string: "http://127.0.0.1:\(httpPort)\(path)"))
        var request = URLRequest(url: url)
        if let bearer = token ?? tokens?.admin, !bearer.isEmpty {
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, try JSONSerialization.jsonObject(with: data))
    }

    /// GET returning the raw body and its content type.
    func getText(_ path: String) async throws -> (status: Int, body: String, contentType: String) {
        let url = try #require(URL(string: "http://127.0.0.1:\(httpPort)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        let http = response as? HTTPURLResponse
        let type = http?.value(forHTTPHeaderField: "Content-Type") ?? ""
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), type)
    }

    /// Runs a query on the daemon's database and returns the first column of every row.
    func column(_ sql: String, _ parameters: [String?] = []) throws -> [String?] {
        let connection = try TestEnvironment.setupConnection(databaseURL)
        let result = try connection.query(sql, parameters)
        return (0..<result.rowCount).map { result.string($0, 0) }
    }

    /// Runs a statement on the daemon's database.
    func execute(_ sql: String) throws {
        let connection = try TestEnvironment.setupConnection(databaseURL)
        try connection.execute(rawSQL: sql)
    }

    func scalar(_ sql: String, _ parameters: [String?] = []) throws -> Int64 {
        guard let first = try column(sql, parameters).first, let text = first, let value = Int64(text) else {
            throw TestFailure("no integer from: \(sql)")
        }
        return value
    }
}
