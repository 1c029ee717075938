import Foundation
import MonCore
import Testing

/// The built programs: journal priorities when `JOURNAL_STREAM` names their standard error,
/// logfmt with a time otherwise, and `--version`. Needs only the binaries (no database).
@Suite(.enabled(if: TestEnvironment.binDirectory != nil, "needs MON_TEST_BIN_DIR (scripts/test)"))
struct JournalLogTests {
    /// Runs `program` with standard error to a file, `JOURNAL_STREAM` naming that file (as
    /// systemd does) or, off the journal, another file (a variable inherited by a redirected
    /// child); stops it once `done` holds for its log (or it exited) and returns the log.
    static func run(
        _ program: String, _ arguments: [String], _ settings: [String: String], journal: Bool,
        until done: @escaping @Sendable (String) -> Bool
    ) async throws -> (log: String, status: Int32) {
        let binDirectory = try #require(TestEnvironment.binDirectory)
        let directory = try TestEnvironment.makeDirectory("journal")
        let logPath = "\(directory)/\(program).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("MONAGENT_") && !$0.key.hasPrefix("MONQUERY_")
        }
        environment.merge(settings.mapValues { $0.replacingOccurrences(of: "$DIR", with: directory) }) { $1 }
        let other = open(directory, O_RDONLY)
        defer { close(other) }
        let named = try #require(JournalStream.identity(of: journal ? log.fileDescriptor : other))
        environment["JOURNAL_STREAM"] = "\(named.device):\(named.inode)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(binDirectory)/\(program)")
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let read = { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
        _ = try await eventually("\(program) logging what the test waits for", seconds: 30) {
            done(read()) || !process.isRunning ? true : nil
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (read(), process.terminationStatus)
    }

    /// monagent with a state directory it cannot create (the spool fails at once: an error
    /// line) and no daemon.
    static func agentLog(journal: Bool) async throws -> String {
        let agent = [
            "MONAGENT_STATE_DIR": "$DIR/monagent.log/not-a-directory", "MONAGENT_INGEST_SOCKET": "$DIR/none.sock",
            "MONAGENT_STATSD_ADDRESS": "",
        ]
        return try await run("monagent", ["run"], agent, journal: journal) {
            $0.contains("cannot open the spool") && $0.contains("monagent starting")
        }.log
    }

    @Test("under the journal, a failed start is an error too: <3>Error: …, exit 78 for the configuration")
    func failedStartUnderTheJournal() async throws {
        let (log, status) = try await Self.run(
            "monquery", ["serve"], ["MONQUERY_LOG_LEVEL": "loud"], journal: true, until: { _ in false })
        #expect(status == 78)
        #expect(log.hasPrefix("<3>Error: configuration key 'log.level': 'loud' is not one of"), "\(log)")
    }

    @Test("under the journal: an error line starts with <3>, and no line has a timestamp")
    func journalPriorities() async throws {
        let log = try await Self.agentLog(journal: true)
        let lines = log.split(separator: "\n")
        let error = try #require(lines.first { $0.contains("cannot open the spool") })
        #expect(error.hasPrefix("<3>level=error label=monagent msg=\"cannot open the spool"), "\(error)")
        #expect(lines.contains { $0.hasPrefix("<6>level=info") }, "\(log)")
        for line in lines {
            #expect(line.first == "<" && !line.contains("time="), "\(line)")
        }
    }

    @Test("off the journal (JOURNAL_STREAM naming another file): logfmt with an RFC 3339 time")
    func logfmtOffTheJournal() async throws {
        let log = try await Self.agentLog(journal: false)
        let error = try #require(log.split(separator: "\n").first { $0.contains("cannot open the spool") })
        #expect(error.hasPrefix("time=20") && error.contains("Z level=error label=monagent msg=\""), "\(error)")
        #expect(!log.contains("<3>"))
    }

    @Test("--version prints the version, the git revision of the build and the Swift compiler")
    func version() async throws {
        let directory = try #require(TestEnvironment.binDirectory)
        for program in ["monagent", "monquery"] {
            let (status, output) = try await runProgram("\(directory)/\(program)", ["--version"])
            #expect(status == 0, "\(output)")
            let line = output.trimmingCharacters(in: .newlines)
            // The tests run from a git checkout: the full commit hash, `-dirty` with local edits.
            let pattern = try Regex(
                #"^\#(program) [0-9A-Za-z.+-]+ \(revision [0-9a-f]{40}(-dirty)?, Swift 6\.[0-9.+]+\)$"#)
            #expect(line.wholeMatch(of: pattern) != nil, "\(line)")
        }
    }
}
