import MonTestSupport
import Testing

@testable import MonCore

@Suite struct ProcStatParserTests {
    @Test func parsesTheCapturedFile() throws {
        let stat = try ProcStatParser.parse(ProcFixtures.bytes("stat"), userHZ: 100)
        #expect(stat.total.user == 239.53)
        #expect(stat.total.nice == 0)
        #expect(stat.total.system == 49.11)
        #expect(stat.total.idle == 1810.38)
        #expect(stat.total.iowait == 5.70)
        #expect(stat.total.softirq == 1.54)
        #expect(stat.total.steal == 1.59)
        #expect(stat.perCPU.keys.sorted() == [0, 1])
        #expect(stat.perCPU[1]?.user == 131.14)
        #expect(stat.contextSwitches == 336_508)
        #expect(stat.bootTime == 1_795_927_346)
        #expect(stat.processesCreated == 7708)
        #expect(stat.processesRunning == 6)
        #expect(stat.processesBlocked == 0)
    }

    @Test func oldKernelWithFourColumnsFillsZeros() throws {
        let stat = try ProcStatParser.parse(Array("cpu 10 20 30 40\ncpu0 10 20 30 40\n".utf8), userHZ: 10)
        #expect(stat.total == ProcStat.CPUTimes(user: 1, nice: 2, system: 3, idle: 4))
        #expect(stat.contextSwitches == nil)
        #expect(stat.total.total == 10)
    }

    static let bad: [ProcInput] = [
        ProcInput("empty", ""),
        ProcInput("blank", "\n  \n"),
        ProcInput("truncated in cpu line", "cpu  23953 0 49"),
        ProcInput("no aggregate line", "cpu0 1 2 3 4 5 6 7 8\nctxt 5\n"),
        ProcInput("garbage", "hello world\n"),
        ProcInput("non-numeric time", "cpu 1 2 x 4 5 6 7 8\n"),
        ProcInput("negative time", "cpu 1 2 -3 4 5 6 7 8\n"),
        ProcInput("bad cpu name", "cpu 1 2 3 4\ncpuX 1 2 3 4\n"),
        ProcInput("ctxt without value", "cpu 1 2 3 4\nctxt\n"),
        ProcInput("binary", bytes: [0xFF, 0xFE, 0x00, 0x63, 0x70, 0x75]),
    ]

    @Test(arguments: bad)
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try ProcStatParser.parse(input.bytes, userHZ: 100) }
    }

    @Test func errorNamesFileLineAndReason() {
        let error = #expect(throws: ProcParseError.self) {
            try ProcStatParser.parse(Array("cpu 1 2 3 4\nctxt nope\n".utf8), userHZ: 100)
        }
        #expect(error?.file == "/proc/stat")
        #expect(error?.line == 2)
        #expect(error?.code == .malformed)
        #expect(error?.description.contains("nope") == true)
    }

    @Test func rejectsNonPositiveClockRate() {
        #expect(throws: ProcParseError.self) { try ProcStatParser.parse(Array("cpu 1 2 3 4\n".utf8), userHZ: 0) }
    }

    @Test func everyPrefixOfTheCaptureIsHandledWithoutCrashing() throws {
        let bytes = try ProcFixtures.bytes("stat")
        for length in 0...bytes.count {
            _ = try? ProcStatParser.parse(Array(bytes.prefix(length)), userHZ: 100)
        }
        // A prefix that ends inside the aggregate line's 4th column must throw.
        #expect(throws: ProcParseError.self) { try ProcStatParser.parse(Array(bytes.prefix(12)), userHZ: 100) }
    }
}
