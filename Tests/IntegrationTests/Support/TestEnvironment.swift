import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
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

    /// The statement timeout of the tests' own set-up and check connections (synthetic data of
    /// ten days, whole-table comparisons): the clients' 30-s default is the product's, and a
    /// loaded CI run's parallel phase took longer than that for one comparison (stop 39).
    static let setupStatementTimeoutMs = 600_000

    /// A connection for a test's own set-up and checks (`setupStatementTimeoutMs`).
    static func setupConnection(_ url: String) throws -> PostgresConnection {
        try PostgresConnection(url: url, applicationName: "mon-tests", statementTimeoutMs: setupStatementTimeoutMs)
    }

    /// Migrates `databaseURL` and creates the day partitions of yesterday and today (of
    /// `nowMs`), as a daemon would before storing: for tests that write rows directly.
    static func migrate(_ databaseURL: String, nowMs: Int64) async throws {
        let writer = IngestWriter(databaseURL: databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let today = DayPartition(timestampMs: nowMs)
        try await writer.ensurePartitions([today.adding(days: -1), today])
    }

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

    /// A TCP port nothing listens on at the moment, chosen at random below the kernel's
    /// ephemeral range (32768–60999): a port the kernel handed out for `bind(0)` is also one
    /// it hands to outgoing connections, and forty daemons talking to PostgreSQL took one
    /// before the test's daemon could listen on it.
    static func freePort() -> Int {
        while true {
            let port = UInt16.random(in: 20_000...32_000)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = port.bigEndian
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound == 0 { return Int(port) }
        }
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
    _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil, input: String? = nil
) async throws -> (status: Int32, output: String) {
    try await offPool { try runProgramBlocking(executable, arguments, environment: environment, input: input) }
}

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), which Swift's Glibc module
/// does not declare.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32)
    -> Int32

/// Runs `executable` to completion on the calling thread: its exit status and combined output.
///
/// Input and output are files, never pipes, and the child gets no descriptor beyond 0–2:
/// Foundation's `Pipe` descriptors are inheritable, so a daemon started meanwhile by another
/// test (a PostgreSQL server through `pg_ctl`) kept a pipe's write end open and a reader
/// waiting for end-of-file blocked until that daemon stopped — a minute during which the
/// blocked thread was one of the two the whole parallel run had.
func runProgramBlocking(
    _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil, input: String? = nil
) throws -> (status: Int32, output: String) {
    let stem = NSTemporaryDirectory() + "mon-run-\(UInt64.random(in: 0...UInt64.max))"
    let outputPath = stem + ".out"
    let inputPath = stem + ".in"
    defer {
        unlink(outputPath)
        unlink(inputPath)
    }
    if let input { try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath)) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, input == nil ? "/dev/null" : inputPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    _ = spawnActionsAddCloseFrom(&actions, 3)
    var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] =
        (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, &argv, &envp)
    guard spawned == 0 else { throw TestFailure("cannot run \(executable): errno \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    // WIFEXITED / WEXITSTATUS; a signal shows as 128 + its number, like a shell.
    let exit = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exit, output)
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
