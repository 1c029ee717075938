import Foundation
import MonCore

/// A PostgreSQL cluster of its own, started and stopped by the test (scripts/lib.sh's
/// `mon_pg_start`/`mon_pg_stop`), for tests that take the daemon's database away.
struct PrivateCluster: Sendable {
    let directory: String
    let port: Int

    /// initdb, start, and `createdb mon`.
    static func make() async throws -> PrivateCluster {
        let cluster = PrivateCluster(
            directory: try TestEnvironment.makeDirectory("pg"), port: TestEnvironment.freePort())
        try await cluster.start()
        try await offPool { try Self.shell("\"$PG_BIN/createdb\" -h 127.0.0.1 -p \(cluster.port) -U postgres mon") }
        return cluster
    }

    var databaseURL: String { "postgresql://postgres@127.0.0.1:\(port)/mon" }

    func start() async throws {
        let command = "mon_pg_start '\(directory)' \(port)"
        try await offPool { try Self.shell(command) }
    }

    func stop() async throws {
        let command = "mon_pg_stop '\(directory)'"
        try await offPool { try Self.shell(command) }
    }

    /// For `defer`: stops without waiting on the cooperative pool's behalf.
    func stopNow() { try? Self.shell("mon_pg_stop '\(directory)'") }

    /// Runs `command` in bash with scripts/lib.sh sourced (from the package root).
    ///
    /// posix_spawn + waitpid rather than Foundation's Process: its exit monitoring hung here
    /// when the script left a daemon (the PostgreSQL server) behind. Output goes to a file,
    /// not a pipe, for the same reason.
    static func shell(_ command: String) throws {
        let logPath = NSTemporaryDirectory() + "mon-shell-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = ["/bin/bash", "-c", ". scripts/lib.sh && " + command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &argv, environ)
        guard spawned == 0 else { throw TestFailure("cannot run bash: errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestFailure("\(command) failed (status \(status)): \(text)") }
    }
}

/// `curl -sS -D - ARGS URL`: status line and headers, then the body.
func curl(_ arguments: [String]) throws -> (headers: [String: String], body: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    let headerFile = NSTemporaryDirectory() + "curl-headers-\(UInt32.random(in: 0...UInt32.max))"
    defer { try? FileManager.default.removeItem(atPath: headerFile) }
    process.arguments = ["-sS", "-D", headerFile] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let body = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
    var headers: [String: String] = [:]
    for line in text.split(whereSeparator: \.isNewline) {
        if line.hasPrefix("HTTP/") {
            headers[":status"] = line.split(separator: " ").dropFirst().first.map(String.init)
        }
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return (headers, body)
}
