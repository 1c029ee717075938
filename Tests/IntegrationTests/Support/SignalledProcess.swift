import Foundation

/// A program started to see how it ends: signalled (or left to exit by itself), then waited
/// for off the cooperative pool; its exit status and the reason (exit or uncaught signal).
final class SignalledProcess: @unchecked Sendable {
    let logPath: String
    private let process = Process()

    /// `binary` is a name in the build directory (monquery, monagent).
    init(_ binary: String, _ arguments: [String], environment: [String: String], logPath: String) throws {
        guard let directory = TestEnvironment.binDirectory else { throw TestFailure("MON_TEST_BIN_DIR not set") }
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: "\(directory)/\(binary)")
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

    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits at most `seconds` for the exit (then kills it and fails): the status, and whether
    /// it exited (rather than died of a signal).
    func exit(within seconds: Double = 30) async throws -> (status: Int32, exited: Bool) {
        try await offPool {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while self.process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            guard !self.process.isRunning else {
                kill(self.process.processIdentifier, SIGKILL)
                self.process.waitUntilExit()
                throw TestFailure("still running \(seconds) s later; log: \(self.log)")
            }
            self.process.waitUntilExit()
            return (self.process.terminationStatus, self.process.terminationReason == .exit)
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
