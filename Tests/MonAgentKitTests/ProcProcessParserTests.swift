import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcProcessParserTests {
    @Test func parsesTheCapturedStat() throws {
        let stat = try ProcessStatParser.parse(ProcFixtures.bytes("pid/stat"))
        #expect(
            stat
                == ProcessStat(
                    pid: 7719, comm: "cat", state: "R", utimeTicks: 0, stimeTicks: 0, threads: 1,
                    startTimeTicks: 105_580,
                    rssPages: 359))
    }

    @Test func parsesTheCapturedKernelThread() throws {
        let stat = try ProcessStatParser.parse(ProcFixtures.bytes("pid/stat-kthread"))
        #expect(stat.pid == 2)
        #expect(stat.comm == "kthreadd")
        #expect(stat.rssPages == 0)
    }

    @Test(arguments: ["a) (b", "with space", ")", "(x)", "tmux: server"])
    func commMayContainSpacesAndParentheses(_ comm: String) throws {
        let line =
            "42 (\(comm)) S 1 42 42 0 -1 4194560 1 0 0 0 12 34 0 0 20 0 3 0 999 1000 77 18446744073709551615 0 0\n"
        let stat = try ProcessStatParser.parse(Array(line.utf8))
        #expect(stat.comm == comm)
        #expect(stat.state == "S")
        #expect(stat.utimeTicks == 12)
        #expect(stat.stimeTicks == 34)
        #expect(stat.threads == 3)
        #expect(stat.startTimeTicks == 999)
        #expect(stat.rssPages == 77)
        #expect(stat.cpuTicks == 46)
    }

    @Test(arguments: [
        ProcInput("empty", ""),
        ProcInput("truncated", "7719 (cat) R 7703 7703 6928 0 -1 4194304 114 0 0 0 0 0 0 0 20 0 1"),
        ProcInput("garbage", "not a process\n"),
        ProcInput("no closing parenthesis", "1 (init S 0 0 0\n"),
        ProcInput("parentheses reversed", "1 )init( S 0 0 0\n"),
        ProcInput("bad pid", "x1 (init) S 0 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 100 10 0 0\n"),
        ProcInput("bad utime", "1 (init) S 0 1 1 0 -1 0 0 0 0 0 u 2 0 0 20 0 1 0 5 100 10 0 0\n"),
    ])
    func badStatThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try ProcessStatParser.parse(input.bytes) }
    }

    @Test func everyPrefixOfTheCapturedStatIsHandledWithoutCrashing() throws {
        let bytes = try ProcFixtures.bytes("pid/stat")
        var parsed = 0
        for length in 0...bytes.count where (try? ProcessStatParser.parse(Array(bytes.prefix(length)))) != nil {
            parsed += 1
        }
        #expect(parsed < bytes.count)
    }

    @Test func parsesTheCapturedCmdline() throws {
        #expect(
            try ProcessCmdlineParser.parse(ProcFixtures.bytes("pid/cmdline")) == ["sh", "-c", "cat /proc/$$/cmdline"])
    }

    @Test(arguments: [
        (ProcInput("empty", ""), [String]()),
        (ProcInput("rewritten title", "postgres: checkpointer "), ["postgres: checkpointer "]),
        (ProcInput("no trailing NUL", bytes: Array("a\0b".utf8)), ["a", "b"]),
        (ProcInput("empty argument", bytes: Array("a\0\0b\0".utf8)), ["a", "", "b"]),
        (ProcInput("invalid UTF-8", bytes: [0x61, 0xFF, 0x00]), ["a\u{FFFD}"]),
    ])
    func cmdlineNeverFails(_ input: ProcInput, _ expected: [String]) {
        #expect(ProcessCmdlineParser.parse(input.bytes) == expected)
    }
}
