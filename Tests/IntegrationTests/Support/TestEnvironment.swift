import Foundation
import MonCore
import Testing

/// What `scripts/test` provides: a live PostgreSQL and Redis, and the built binaries.
enum TestEnvironment {
    static let environment = ProcessInfo.processInfo.environment

    /// `postgresql://postgres@127.0.0.1:PORT/postgres`, set by scripts/test.
    static var databaseURL: String? { environment["MON_TEST_DATABASE_URL"] }
    static var binDirectory: String? { environment["MON_TEST_BIN_DIR"] }
    /// `redis://127.0.0.1:PORT/0`, set by scripts/test.
    static var redisURL: String? { environment["MON_TEST_REDIS_URL"] }

    /// True when the live services are there; integration suites are disabled otherwise
    /// (run them with `scripts/test`, which always provides them).
    static var isAvailable: Bool { databaseURL != nil && binDirectory != nil }

    /// A fresh, empty database for one test; its URL.
    static func makeDatabase() throws -> String {
        let base = try #require(databaseURL)
        let name = "mon_it_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try PostgresConnection(url: base, applicationName: "mon-tests")
        try admin.execute(rawSQL: "CREATE DATABASE \(name)")
        guard let slash = base.lastIndex(of: "/") else { throw TestFailure("bad MON_TEST_DATABASE_URL") }
        return base[..<slash] + "/" + name
    }

    /// A private temp directory (removed by the test script at the end of the run).
    static func makeDirectory(_ prefix: String) throws -> String {
        let root = environment["MON_TEST_WORK_DIR"] ?? NSTemporaryDirectory()
        let path = "\(root)/\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A TCP port nothing listens on at the moment.
    static func freePort() -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `body` every 100 ms until it returns a value or `seconds` pass.
func eventually<T>(
    _ what: String,
    seconds: Double = 60,
    _ body: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    var lastError: Error?
    while ContinuousClock.now < deadline {
        do {
            if let value = try await body() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestFailure("timed out waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
}

/// Runs blocking work (waiting for a process, a socket) on a thread of its own, so it does
/// not hold one of the few threads of Swift's cooperative pool that the other tests,
/// running in parallel, need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

/// Runs `executable` (a path, relative to the package root or absolute) to completion,
/// off the cooperative pool: its exit status and combined output.
func runProgram(
    _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil
) async throws -> (status: Int32, output: String) {
    try await offPool { try runProgramBlocking(executable, arguments, environment: environment) }
}

func runProgramBlocking(
    _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// Runs `executable` to completion off the cooperative pool with its standard output written
/// to the file `output` and its standard error to `errors` (or `output` too), not pipes:
/// its exit status.
func runProgram(
    _ executable: String, _ arguments: [String], output: String, errors: String? = nil
) async throws -> Int32 {
    try await offPool {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        defer { try? log.close() }
        var errorLog = log
        if let errors {
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            errorLog = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        }
        defer { if errors != nil { try? errorLog.close() } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = errorLog
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
