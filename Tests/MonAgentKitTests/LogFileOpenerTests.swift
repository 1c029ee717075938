import Foundation
import Glibc
import Testing

@testable import MonAgentKit
@testable import MonCore

/// What a compromised application could plant in its log directory to make the agent read
/// a secret: every case is refused, reported once, and no byte of the secret is emitted
/// (issue 18, "Files and the spool").
@Suite struct LogFileOpenerTests {
    /// A log directory and, beside it, a "secret" file the agent can read but must never ship.
    final class Planted {
        let root: String
        let logs: String
        let secret: String
        static let secretText = "root:$6$very-secret-hash:19000:0:99999:7:::\n"

        init() throws {
            root = NSTemporaryDirectory() + "log-opener-\(UUID().uuidString)"
            logs = root + "/logs"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/credentials", withIntermediateDirectories: true)
            secret = root + "/credentials/pg-password"
            try Data(Self.secretText.utf8).write(to: URL(fileURLWithPath: secret))
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func log(_ name: String) -> String { logs + "/" + name }

        func append(_ name: String, _ text: String) throws {
            let descriptor = open(log(name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            try #require(descriptor >= 0)
            defer { close(descriptor) }
            _ = text.utf8CString.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count - 1) }
        }
    }

    static func poll(_ tailer: LogTailer) -> (lines: [String], stats: LogTailer.PollStats) {
        var lines: [String] = []
        let stats = tailer.poll(nowMs: 1_000_000) { lines.append(String(decoding: $0.bytes, as: UTF8.self)) }
        return (lines, stats)
    }

    static func tailer(_ patterns: [String], owners: Set<UInt32>? = nil) -> LogTailer {
        LogTailer(
            patterns: patterns, startAtEnd: false, maxLineBytes: 65536,
            opener: LogFileOpener(allowedOwners: owners))
    }

    static func noSecret(_ lines: [String]) -> Bool { !lines.contains { $0.contains("very-secret") } }

    @Test("a symlink to a secret file is refused, by name and by glob, and reported once")
    func symlinkRefused() throws {
        let planted = try Planted()
        try planted.append("app.log", "a line\n")
        #expect(symlink(planted.secret, planted.log("evil.log")) == 0)
        for patterns in [[planted.log("evil.log")], [planted.log("*.log")]] {
            let tailer = Self.tailer(patterns)
            let first = Self.poll(tailer)
            #expect(Self.noSecret(first.lines))
            #expect(first.stats.refused.map(\.reason) == [.symlink])
            #expect(first.stats.refused.first?.path == planted.log("evil.log"))
            let second = Self.poll(tailer)
            #expect(second.stats.refused.isEmpty, "reported once, not at every poll")
            #expect(Self.noSecret(second.lines))
        }
    }

    @Test("a followed file replaced by a symlink: its own lines are finished, the secret is never read")
    func replacedBySymlink() throws {
        let planted = try Planted()
        try planted.append("app.log", "first\n")
        let tailer = Self.tailer([planted.log("app.log")])
        #expect(Self.poll(tailer).lines == ["first"])
        try planted.append("app.log", "second\n")
        #expect(symlink(planted.secret, planted.log("tmp-link")) == 0)
        #expect(rename(planted.log("tmp-link"), planted.log("app.log")) == 0)
        let polled = Self.poll(tailer)
        #expect(polled.lines == ["second"])
        #expect(polled.stats.refused.map(\.reason) == [.symlink])
        #expect(Self.noSecret(Self.poll(tailer).lines))
        // Once a regular file is back under the name, it is followed again.
        #expect(unlink(planted.log("app.log")) == 0)
        try planted.append("app.log", "third\n")
        let back = Self.poll(tailer)
        #expect(back.lines == ["third"])
        #expect(back.stats.refused.isEmpty)
    }

    @Test("a directory matched by a wildcard that is a symlink is refused; literal directories are followed")
    func symlinkedDirectory() throws {
        let planted = try Planted()
        try FileManager.default.createDirectory(atPath: planted.log("svc-a"), withIntermediateDirectories: true)
        try planted.append("svc-a/app.log", "from a\n")
        // The attacker links a directory holding secrets, whose file has the expected name.
        try Data(Planted.secretText.utf8).write(to: URL(fileURLWithPath: planted.root + "/credentials/app.log"))
        #expect(symlink(planted.root + "/credentials", planted.log("svc-b")) == 0)
        let tailer = Self.tailer([planted.log("*/app.log")])
        let polled = Self.poll(tailer)
        #expect(polled.lines == ["from a"])
        #expect(Self.noSecret(polled.lines))
        #expect(polled.stats.refused.map(\.reason) == [.symlinkedDirectory])
        #expect(polled.stats.refused.first?.path == planted.log("svc-b/app.log"))
        // The operator's own symlinked directory, written literally in the pattern, is followed.
        #expect(symlink(planted.log("svc-a"), planted.root + "/current") == 0)
        let literal = Self.tailer([planted.root + "/current/*.log"])
        #expect(Self.poll(literal).lines == ["from a"])
    }

    @Test("a FIFO does not block the tailer and is refused; a device is refused")
    func fifoAndDevice() throws {
        let planted = try Planted()
        #expect(mkfifo(planted.log("app.log"), 0o644) == 0)
        try planted.append("other.log", "still read\n")
        let tailer = Self.tailer([planted.log("*.log")])
        let polled = Self.poll(tailer)
        #expect(polled.lines == ["still read"])
        #expect(polled.stats.refused.map(\.reason) == [.notRegular])
        // Opened directly (as after a swap between lstat and open): O_NONBLOCK, then fstat refuses it.
        guard case .refused(let refusal) = LogFileOpener().open(planted.log("app.log"), trustedDirectory: planted.logs)
        else {
            Issue.record("a FIFO was opened")
            return
        }
        #expect(refusal.reason == .notRegular && refusal.detail.contains("FIFO"))
        guard case .refused(let device) = LogFileOpener().open("/dev/null", trustedDirectory: "/dev") else {
            Issue.record("a device was opened")
            return
        }
        #expect(device.reason == .notRegular)
    }

    @Test("a planted name with a newline cannot forge lines in the agent's log")
    func controlCharactersInNames() throws {
        let planted = try Planted()
        let name = "evil\n2099-01-01T00:00:00+0000 critical monagent : forged\u{1B}[2J.log"
        #expect(symlink(planted.secret, planted.log(name)) == 0)
        let refusal = try #require(Self.poll(Self.tailer([planted.log("*.log")])).stats.refused.first)
        #expect(refusal.path == planted.log(name), "the real path is kept for the tailer")
        let printable = LogFileOpener.printable(refusal.path)
        #expect(!printable.contains("\n") && !printable.contains("\u{1B}"))
        #expect(printable.hasSuffix(#"evil\n2099-01-01T00:00:00+0000 critical monagent : forged\u{1B}[2J.log"#))
        #expect(!refusal.description.contains("\n"))
        #expect(LogFileOpener.printable(#"a\b"#) == #"a\\b"#)
    }

    @Test("a hard link to a secret file is refused (two names)")
    func hardLink() throws {
        let planted = try Planted()
        #expect(link(planted.secret, planted.log("app.log")) == 0)
        let polled = Self.poll(Self.tailer([planted.log("app.log")]))
        #expect(polled.lines.isEmpty)
        #expect(polled.stats.refused.map(\.reason) == [.hardLink])
    }

    @Test("logs.allowed_owners: a file of another owner is refused, one of an allowed owner is read")
    func ownerRule() throws {
        let planted = try Planted()
        try planted.append("app.log", "mine\n")
        let me = getuid()
        let refused = Self.poll(Self.tailer([planted.log("app.log")], owners: [me &+ 1]))
        #expect(refused.lines.isEmpty)
        #expect(refused.stats.refused.map(\.reason) == [.owner])
        #expect(refused.stats.refused.first?.detail.contains("uid \(me)") == true)
        #expect(Self.poll(Self.tailer([planted.log("app.log")], owners: [me])).lines == ["mine"])
        // The pure rule on a given stat.
        var info = stat()
        info.st_mode = S_IFREG | 0o644
        info.st_nlink = 1
        info.st_uid = 0
        #expect(LogFileOpener(allowedOwners: [1000]).check(info, path: "x")?.reason == .owner)
        #expect(LogFileOpener(allowedOwners: nil).check(info, path: "x") == nil)
    }

    @Test(
        "the literal directory of a pattern",
        arguments: [
            ("/var/log/app/*.log", "/var/log/app"),
            ("/var/log/app/app.log", "/var/log/app"),
            ("/var/log/*/app.log", "/var/log"),
            ("/var/log/ap?/x.log", "/var/log"),
            ("/var/log/[ab]/x.log", "/var/log"),
            ("/*.log", "/"),
            ("*.log", ""),
            ("logs/*.log", "logs"),
            ("app.log", ""),
        ])
    func literalDirectory(_ pattern: String, _ directory: String) {
        #expect(LogFileOpener.literalDirectory(of: pattern) == directory)
    }

    @Test("logs.allowed_owners takes names and uids; an unknown user is refused, naming the key")
    func ownersConfig() throws {
        let config = try AgentConfig.load(path: nil, environment: ["MONAGENT_LOGS_ALLOWED_OWNERS": "root,1234"])
        #expect(config.logs.allowedOwners == [0, 1234])
        #expect(try AgentConfig.load(path: nil, environment: [:]).logs.allowedOwners == nil)
        let error = #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: nil, environment: ["MONAGENT_LOGS_ALLOWED_OWNERS": "no-such-user-xyz"])
        }
        #expect(error?.key == "logs.allowed_owners")
        #expect("\(error.map { "\($0)" } ?? "")".contains("no-such-user-xyz"))
    }
}
