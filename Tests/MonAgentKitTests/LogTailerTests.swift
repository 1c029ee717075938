import Foundation
import Glibc
import Testing

@testable import MonAgentKit
@testable import MonCore

/// A fresh directory under the temporary directory, removed when the value goes away.
private final class ScratchDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("logtailer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Appends `text` to `name`, creating it when missing (in place: the inode is kept).
    func append(_ name: String, _ text: String) {
        append(name, Array(text.utf8))
    }

    func append(_ name: String, _ bytes: [UInt8]) {
        let descriptor = open(file(name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(descriptor >= 0, "cannot open \(file(name))")
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        precondition(written == bytes.count)
    }

    func rename(_ from: String, _ to: String) {
        precondition(Glibc.rename(file(from), file(to)) == 0)
    }

    func remove(_ name: String) {
        precondition(unlink(file(name)) == 0)
    }

    /// Truncates in place, as logrotate's copytruncate does.
    func truncate(_ name: String) {
        precondition(Glibc.truncate(file(name), 0) == 0)
    }

    func inode(_ name: String) -> UInt64 {
        var info = stat()
        precondition(stat(file(name), &info) == 0)
        return UInt64(info.st_ino)
    }
}

@Suite struct LogTailerTests {
    struct Emitted: Equatable, CustomStringConvertible {
        var text: String
        var offset: Int64
        var truncated: Bool
        var source: String
        var description: String { "\(text)@\(offset)\(truncated ? " (truncated)" : "")" }
    }

    /// Polls once at `nowMs`; returns the emitted lines and the stats.
    static func poll(_ tailer: LogTailer, at nowMs: Int64 = 1_000_000) -> (lines: [Emitted], stats: LogTailer.PollStats)
    {
        var lines: [Emitted] = []
        let stats = tailer.poll(nowMs: nowMs) { line in
            lines.append(
                Emitted(
                    text: String(decoding: line.bytes, as: UTF8.self), offset: line.offset, truncated: line.truncated,
                    source: line.source))
        }
        return (lines, stats)
    }

    static func texts(_ tailer: LogTailer, at nowMs: Int64 = 1_000_000) -> [String] {
        poll(tailer, at: nowMs).lines.map(\.text)
    }

    static func tailer(
        _ patterns: [String], startAtEnd: Bool = false, maxLineBytes: Int = 65536,
        positions: [LogTailer.Position] = []
    ) -> LogTailer {
        LogTailer(patterns: patterns, startAtEnd: startAtEnd, maxLineBytes: maxLineBytes, positions: positions)
    }

    // MARK: Starting

    @Test func startAtEndSkipsExistingContentButReadsAppends() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "old 1\nold 2\n")
        let tailer = Self.tailer([directory.file("app.log")], startAtEnd: true)
        #expect(Self.texts(tailer).isEmpty)
        directory.append("app.log", "new 1\nnew 2\n")
        let polled = Self.poll(tailer)
        #expect(polled.lines.map(\.text) == ["new 1", "new 2"])
        #expect(polled.lines.map(\.offset) == [12, 18])
        #expect(polled.stats == LogTailer.PollStats())
        #expect(Self.texts(tailer).isEmpty)
    }

    @Test func startAtBeginningReadsEverything() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "one\ntwo\n\nthree\n")
        let tailer = Self.tailer([directory.file("app.log")])
        let lines = Self.poll(tailer).lines
        // Empty lines are skipped but their bytes are counted.
        #expect(lines.map(\.text) == ["one", "two", "three"])
        #expect(lines.map(\.offset) == [0, 4, 9])
        let inode = directory.inode("app.log")
        #expect(lines.allSatisfy { $0.source.hasSuffix(":\(inode)") && $0.source.hasPrefix(directory.file("app.log")) })
        #expect(tailer.positions.map(\.offset) == [15])
        #expect(tailer.positions.map(\.inode) == [inode])
    }

    @Test func aMissingFileIsPickedUpFromItsBeginningWhenItAppears() throws {
        let directory = try ScratchDirectory()
        let tailer = Self.tailer([directory.file("app.log")], startAtEnd: true)
        #expect(Self.texts(tailer).isEmpty)
        directory.append("app.log", "first\n")
        #expect(Self.texts(tailer) == ["first"])
    }

    // MARK: Lines

    @Test func partialLineWaitsForItsNewline() throws {
        let directory = try ScratchDirectory()
        let tailer = Self.tailer([directory.file("app.log")])
        directory.append("app.log", "complete\nhalf")
        #expect(Self.texts(tailer) == ["complete"])
        #expect(tailer.positions.first?.offset == 9)
        directory.append("app.log", " and more")
        #expect(Self.texts(tailer).isEmpty)
        directory.append("app.log", "\nnext\n")
        let lines = Self.poll(tailer).lines
        #expect(lines.map(\.text) == ["half and more", "next"])
        #expect(lines.map(\.offset) == [9, 23])
    }

    @Test func crlfLineEndingsAreTrimmed() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "a\r\nbb\r\n\r\nc\rd\n")
        let lines = Self.poll(Self.tailer([directory.file("app.log")])).lines
        #expect(lines.map(\.text) == ["a", "bb", "c\rd"])
        #expect(lines.map(\.offset) == [0, 3, 9])
    }

    @Test func overLongLineWrittenInPiecesIsCutOnce() throws {
        let directory = try ScratchDirectory()
        let tailer = Self.tailer([directory.file("app.log")], maxLineBytes: 256)
        directory.append("app.log", String(repeating: "x", count: 300))
        let first = Self.poll(tailer).lines
        #expect(first.map(\.text) == [String(repeating: "x", count: 256)])
        #expect(first.map(\.truncated) == [true])
        #expect(first.map(\.offset) == [0])
        directory.append("app.log", String(repeating: "y", count: 500))
        #expect(Self.texts(tailer).isEmpty)
        directory.append("app.log", "zzz\nnext\n")
        let second = Self.poll(tailer).lines
        #expect(second.map(\.text) == ["next"])
        #expect(second.first?.truncated == false)
        #expect(second.first?.offset == 804)
        #expect(tailer.positions.first?.offset == 809)
    }

    @Test
    func overLongLineWrittenAtOnceIsCutOnce() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", String(repeating: "x", count: 1000) + "\nnext\n")
        let lines = Self.poll(Self.tailer([directory.file("app.log")], maxLineBytes: 256)).lines
        #expect(lines.count == 2)
        #expect(lines.first?.text == String(repeating: "x", count: 256))
        #expect(lines.first?.truncated == true)
        #expect(lines.last?.text == "next")
        #expect(lines.last?.truncated == false)
        #expect(lines.last?.offset == 1001)
    }

    @Test func aLineOfExactlyTheMaximumIsNotCut() throws {
        let directory = try ScratchDirectory()
        let tailer = Self.tailer([directory.file("app.log")], maxLineBytes: 256)
        directory.append("app.log", String(repeating: "x", count: 256))
        #expect(Self.texts(tailer).isEmpty)
        directory.append("app.log", "\n")
        let lines = Self.poll(tailer).lines
        #expect(lines.map(\.text.count) == [256])
        #expect(lines.map(\.truncated) == [false])
    }

    @Test func aFileLargerThanOnePollsBudgetSaysSoAndIsReadOnInOrder() throws {
        let directory = try ScratchDirectory()
        let lines = (0..<100).map { String(format: "line %03d", $0) }
        directory.append("app.log", lines.joined(separator: "\n") + "\n")
        let tailer = LogTailer(
            patterns: [directory.file("app.log")], startAtEnd: false, maxLineBytes: 65536, maxBytesPerPoll: 256)
        var read: [String] = []
        var polls = 0
        while true {
            let polled = Self.poll(tailer)
            read += polled.lines.map(\.text)
            polls += 1
            guard polled.stats.budgetReached else { break }
            #expect(polled.stats.readErrors.isEmpty)
        }
        // 900 bytes at 256 a poll: 3 polls hit the budget, the fourth reads to the end.
        #expect(polls == 4)
        #expect(read == lines)
        directory.append("app.log", "one more\n")
        let last = Self.poll(tailer)
        #expect(last.lines.map(\.text) == ["one more"])
        #expect(!last.stats.budgetReached)
    }

    // MARK: Rotation

    @Test func renameRotationReadsEveryLineOnceInOrder() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "a1\na2\n")
        let tailer = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(tailer, at: 1_000) == ["a1", "a2"])
        let oldInode = directory.inode("app.log")

        directory.rename("app.log", "app.log.1")
        directory.append("app.log", "b1\n")
        // The application has not reopened its log yet: it still writes to the old file.
        directory.append("app.log.1", "a3\n")
        let rotated = Self.poll(tailer, at: 2_000)
        #expect(rotated.lines.map(\.text) == ["a3", "b1"])
        #expect(rotated.stats.rotations == 1)
        #expect(rotated.lines.first?.source.hasSuffix(":\(oldInode)") == true)
        #expect(rotated.lines.first?.offset == 6)
        #expect(rotated.lines.last?.offset == 0)

        directory.append("app.log.1", "a4 without newline")
        directory.append("app.log", "b2\n")
        #expect(Self.texts(tailer, at: 3_000) == ["b2"])
        // Quiet for longer than drainSeconds: the old file's last line is flushed and the file dropped.
        let drained = Self.poll(tailer, at: 60_000)
        #expect(drained.lines.map(\.text) == ["a4 without newline"])
        #expect(drained.stats.rotations == 0)
        directory.append("app.log.1", "a5\n")
        directory.append("app.log", "b3\n")
        #expect(Self.texts(tailer, at: 61_000) == ["b3"])
        #expect(tailer.positions.map(\.path) == [directory.file("app.log")])
    }

    @Test func renameWithoutASuccessorYetIsFinishedThenTheNewFileRead() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "a1\n")
        let tailer = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(tailer, at: 1_000) == ["a1"])
        directory.append("app.log", "a2\n")
        directory.rename("app.log", "app.log.1")
        #expect(Self.texts(tailer, at: 2_000) == ["a2"])
        directory.append("app.log.1", "a3\n")
        directory.append("app.log", "b1\n")
        #expect(Self.texts(tailer, at: 3_000) == ["a3", "b1"])
    }

    @Test func rotatedFileAlsoMatchedByTheGlobIsNotReadTwice() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "a1\na2\n")
        let tailer = Self.tailer([directory.file("app.log*")])
        #expect(Self.texts(tailer, at: 1_000) == ["a1", "a2"])
        directory.rename("app.log", "app.log.1")
        directory.append("app.log.1", "a3\n")
        directory.append("app.log", "b1\n")
        var seen = Self.texts(tailer, at: 2_000)
        seen += Self.texts(tailer, at: 3_000)
        directory.append("app.log.1", "a4\n")
        seen += Self.texts(tailer, at: 60_000)
        seen += Self.texts(tailer, at: 61_000)
        #expect(seen.sorted() == ["a3", "a4", "b1"])
        #expect(seen.firstIndex(of: "a3")! < seen.firstIndex(of: "a4")!)
    }

    @Test func copytruncateStartsOverAtZero() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "line one\nline two\n")
        let tailer = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(tailer) == ["line one", "line two"])
        let inode = directory.inode("app.log")
        directory.truncate("app.log")
        directory.append("app.log", "x\ny\n")
        #expect(directory.inode("app.log") == inode)
        let polled = Self.poll(tailer)
        #expect(polled.lines.map(\.text) == ["x", "y"])
        #expect(polled.lines.map(\.offset) == [0, 2])
        #expect(polled.stats.truncations == 1)
        #expect(polled.stats.rotations == 0)
        #expect(tailer.positions.map(\.offset) == [4])
    }

    @Test func truncationDropsAPendingPartialLine() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "a\npartial")
        let tailer = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(tailer) == ["a"])
        directory.truncate("app.log")
        directory.append("app.log", "b\n")
        let polled = Self.poll(tailer)
        #expect(polled.lines.map(\.text) == ["b"])
        #expect(polled.stats.truncations == 1)
    }

    // MARK: Files appearing and disappearing

    @Test func globPicksUpNewFilesFromTheirBeginning() throws {
        let directory = try ScratchDirectory()
        directory.append("a.log", "old a\n")
        let tailer = Self.tailer([directory.file("*.log")], startAtEnd: true)
        #expect(Self.texts(tailer).isEmpty)
        directory.append("b.log", "b1\nb2\n")
        directory.append("c.txt", "not matched\n")
        directory.append("a.log", "new a\n")
        let lines = Self.poll(tailer).lines
        #expect(lines.map(\.text) == ["new a", "b1", "b2"])
        #expect(Set(tailer.positions.map(\.path)) == [directory.file("a.log"), directory.file("b.log")])
    }

    @Test func severalPatternsAndDirectoriesAreNotFollowed() throws {
        let directory = try ScratchDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("dir.log"), withIntermediateDirectories: true)
        directory.append("x.json", "j\n")
        directory.append("y.log", "l\n")
        let tailer = Self.tailer([directory.file("*.log"), directory.file("*.json"), directory.file("x.json")])
        #expect(Self.texts(tailer).sorted() == ["j", "l"])
        #expect(tailer.positions.count == 2)
    }

    @Test func deletedFileIsReadToItsEndThenDropped() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "1\n")
        let tailer = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(tailer, at: 1_000) == ["1"])
        directory.append("app.log", "2\n3\n")
        directory.remove("app.log")
        #expect(Self.texts(tailer, at: 2_000) == ["2", "3"])
        #expect(tailer.positions.isEmpty)
        #expect(Self.texts(tailer, at: 60_000).isEmpty)
        #expect(Self.texts(tailer, at: 61_000).isEmpty)
        #expect(tailer.positions.isEmpty)
    }

    @Test
    func fileRecreatedAfterDeletionIsReadFromItsBeginning() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "1\n2\n3\n")
        let tailer = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(tailer, at: 1_000) == ["1", "2", "3"])
        directory.remove("app.log")
        #expect(Self.texts(tailer, at: 2_000).isEmpty)
        #expect(Self.texts(tailer, at: 60_000).isEmpty)  // drained and closed: the inode is free again
        directory.append("app.log", "new line 1\nnew line 2\n")
        #expect(Self.texts(tailer, at: 61_000) == ["new line 1", "new line 2"])
    }

    // MARK: Positions across restarts

    @Test func savedPositionsResumeWithoutDuplicatesOrGaps() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "1\n2\n3")
        let first = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(first) == ["1", "2"])
        let positions = first.positions
        #expect(positions.map(\.offset) == [4])
        // Through the state file's format.
        let decoded = try JSONDecoder().decode(
            [LogTailer.Position].self, from: JSONEncoder().encode(positions))
        #expect(decoded == positions)

        directory.append("app.log", "\n4\n")
        // startAtEnd would skip what is there; the saved position wins.
        let second = Self.tailer([directory.file("app.log")], startAtEnd: true, positions: decoded)
        let lines = Self.poll(second).lines
        #expect(lines.map(\.text) == ["3", "4"])
        #expect(lines.map(\.offset) == [4, 6])
    }

    @Test func positionsOfFilesNotSeenYetAreKept() throws {
        let directory = try ScratchDirectory()
        let saved = LogTailer.Position(path: directory.file("gone.log"), device: 1, inode: 2, offset: 3)
        let tailer = Self.tailer([directory.file("*.log")], positions: [saved])
        directory.append("other.log", "x\n")
        #expect(Self.texts(tailer) == ["x"])
        #expect(tailer.positions.map(\.path) == [directory.file("gone.log"), directory.file("other.log")])
        #expect(tailer.positions.first == saved)
    }

    @Test func fileRotatedWhileAwayIsFinishedBeforeItsSuccessor() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "a1\n")
        let first = Self.tailer([directory.file("app.log")])
        #expect(Self.texts(first) == ["a1"])
        let positions = first.positions

        directory.append("app.log", "a2\na3 unterminated")
        directory.rename("app.log", "app.log.1")
        directory.append("app.log", "b1\n")
        let second = Self.tailer([directory.file("app.log")], startAtEnd: true, positions: positions)
        let polled = Self.poll(second)
        #expect(polled.lines.map(\.text) == ["a2", "a3 unterminated", "b1"])
        #expect(polled.lines.map(\.offset) == [3, 6, 0])
        #expect(polled.stats.rotations == 1)
        #expect(second.positions.map(\.inode) == [directory.inode("app.log")])
    }

    @Test func savedPositionBeyondTheEndOfTheSameFileRestartsAtZero() throws {
        let directory = try ScratchDirectory()
        directory.append("app.log", "short\n")
        let inode = directory.inode("app.log")
        let tailer = Self.tailer(
            [directory.file("app.log")],
            positions: [
                LogTailer.Position(
                    path: directory.file("app.log"), device: UInt64(Self.device(directory.file("app.log"))),
                    inode: inode, offset: 1000)
            ])
        #expect(Self.texts(tailer) == ["short"])
    }

    static func device(_ path: String) -> UInt64 {
        var info = stat()
        precondition(stat(path, &info) == 0)
        return UInt64(info.st_dev)
    }
}
