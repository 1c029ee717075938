import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcLoadAvgParserTests {
    @Test func parsesTheCapturedFile() throws {
        let load = try LoadAvgParser.parse(ProcFixtures.bytes("loadavg"))
        #expect(load == LoadAverage(load1: 2.04, load5: 0.82, load15: 0.31, runnable: 6, tasks: 96))
    }

    @Test func threeFieldsAreEnough() throws {
        let load = try LoadAvgParser.parse(Array("0.00 0.01 0.05".utf8))
        #expect(load.load15 == 0.05)
        #expect(load.tasks == nil)
    }

    @Test(arguments: [
        ProcInput("empty", ""),
        ProcInput("truncated", "2.04 0.8"),
        ProcInput("garbage", "load is high today\n"),
        ProcInput("bad task counts", "1 2 3 4-96 7708\n"),
        ProcInput("infinite", "inf 1 1\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try LoadAvgParser.parse(input.bytes) }
    }
}
