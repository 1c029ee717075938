import Foundation
import Logging
import Synchronization
import Testing

@testable import MonCore

@Suite struct LineLogHandlerTests {
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    static func logger(
        _ lines: Lines, control: LogLevelControl, format: LogFormat = .logfmt, journal: Bool = false
    ) -> Logger {
        Logger(label: "monquery") { label in
            LineLogHandler(
                label: label, formatter: LogLineFormatter(format: format, journal: journal), control: control,
                sink: { lines.append($0) }, clock: { 1_764_952_800_120 })
        }
    }

    @Test func theLevelChangesAtRunTimeForLoggersAlreadyMade() {
        let lines = Lines()
        let control = LogLevelControl(.info)
        let logger = Self.logger(lines, control: control)
        logger.debug("hidden")
        #expect(control.set(.debug) == .info)
        logger.debug("shown")
        control.set(.error)
        logger.warning("hidden too")
        logger.error("kept")
        #expect(lines.all.count == 2)
        #expect(lines.all.first?.contains("msg=shown") == true)
        #expect(lines.all.last?.contains("level=error") == true)
    }

    @Test func theControlCanBeSetFromManyThreads() async {
        let control = LogLevelControl(.info)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask { control.set(index % 2 == 0 ? .debug : .warning) }
            }
        }
        #expect([Logger.Level.debug, .warning].contains(control.level))
        for level in Logger.Level.allCases {
            control.set(level)
            #expect(control.level == level)
        }
    }

    @Test func oneLoggerValueMayKeepItsOwnLevel() {
        let lines = Lines()
        let control = LogLevelControl(.error)
        var chatty = Self.logger(lines, control: control)
        chatty.logLevel = .debug
        chatty.debug("own level")
        Self.logger(lines, control: control).debug("shared level")
        #expect(lines.all.count == 1)
    }

    @Test func metadataOfTheLoggerAndTheCallAreMerged() {
        let lines = Lines()
        var logger = Self.logger(lines, control: LogLevelControl())
        logger[metadataKey: "agent_id"] = "web-1"
        logger.info("hello", metadata: ["seq": "7", "agent_id": "web-2"])
        #expect(
            lines.all == ["time=2025-12-05T16:40:00.120Z level=info label=monquery msg=hello agent_id=web-2 seq=7\n"])
    }

    @Test("an error under the journal: <3> first, no timestamp")
    func errorUnderTheJournal() {
        let lines = Lines()
        let logger = Self.logger(lines, control: LogLevelControl(), journal: true)
        logger.error("store failed", metadata: ["error": "connection refused"])
        #expect(lines.all == ["<3>level=error label=monquery msg=\"store failed\" error=\"connection refused\"\n"])
    }

    @Test("JOURNAL_STREAM counts only when it names the descriptor's file")
    func journalStreamMustNameTheDescriptor() throws {
        let path = NSTemporaryDirectory() + "journal-stream-\(UInt32.random(in: 0...UInt32.max))"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let descriptor = open(path, O_WRONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let identity = try #require(JournalStream.identity(of: descriptor))
        let value = "\(identity.device):\(identity.inode)"
        #expect(JournalStream.isConnected(environment: ["JOURNAL_STREAM": value], descriptor: descriptor))
        #expect(!JournalStream.isConnected(environment: [:], descriptor: descriptor))
        #expect(!JournalStream.isConnected(environment: ["JOURNAL_STREAM": "1:2"], descriptor: descriptor))
        for garbage in ["", ":", "a:b", "1", "1:2:3", "-1:5"] {
            #expect(JournalStream.parse(garbage) == nil, "\(garbage)")
        }
    }
}
