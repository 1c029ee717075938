import Foundation
import MonAgentKit
import MonCore
import MonQueryKit

/// A PostgreSQL cluster of its own, started and stopped by the test (scripts/lib.sh's
/// `mon_pg_start`/`mon_pg_stop`), for tests that take the daemon's database away.
struct PrivateCluster: Sendable {
    let directory: String
    let port: Int
    /// Server options after the defaults (`-c max_connections=20`); plain `-c name=value`.
    var options = ""

    /// initdb, start, and `createdb mon`.
    static func make(options: String = "") async throws -> PrivateCluster {
        let cluster = PrivateCluster(
            directory: try TestEnvironment.makeDirectory("pg"), port: TestEnvironment.freePort(), options: options)
        try await cluster.start()
        try await offPool { try Self.shell("\"$PG_BIN/createdb\" -h 127.0.0.1 -p \(cluster.port) -U postgres mon") }
        return cluster
    }

    var databaseURL: String { "postgresql://postgres@127.0.0.1:\(port)/mon" }

    func start() async throws {
        let command = "mon_pg_start '\(directory)' \(port) '\(options)'"
        try await offPool { try Self.shell(command) }
    }

    func stop() async throws {
        let command = "mon_pg_stop '\(directory)'"
        try await offPool { try Self.shell(command) }
    }

    /// For `defer`: stops without waiting on the cooperative pool's behalf.
    func stopNow() { try? Self.shell("mon_pg_stop '\(directory)'") }

    /// Runs `command` in bash with scripts/lib.sh sourced (from the package root), on the
    /// calling thread; see `runProgramBlocking` for why output goes to a file.
    static func shell(_ command: String) throws {
        let (status, text) = try runProgramBlocking("/bin/bash", ["-c", ". scripts/lib.sh && " + command])
        guard status == 0 else { throw TestFailure("\(command) failed (status \(status)): \(text)") }
    }
}

/// `curl -sS ARGS`: the response headers (the status under `:status`) and the body; both
/// empty when curl could not get a response.
func curl(_ arguments: [String]) throws -> (headers: [String: String], body: Data) {
    let stem = NSTemporaryDirectory() + "curl-\(UInt64.random(in: 0...UInt64.max))"
    defer {
        unlink(stem + ".headers")
        unlink(stem + ".body")
    }
    _ = try runProgramBlocking("/usr/bin/curl", ["-sS", "-D", stem + ".headers", "-o", stem + ".body"] + arguments)
    let body = (try? Data(contentsOf: URL(fileURLWithPath: stem + ".body"))) ?? Data()
    let text = (try? String(contentsOfFile: stem + ".headers", encoding: .utf8)) ?? ""
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
