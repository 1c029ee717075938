import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// Every parser, fed every prefix of its capture and seeded random corruptions of it,
/// returns or throws `ProcParseError` — it never traps and never throws anything else.
@Suite struct ProcParserRobustnessTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var fixture: String
        /// False for cmdline, which accepts any bytes.
        var rejectsSomething = true
        var parse: @Sendable ([UInt8]) throws -> Void
        var testDescription: String { fixture }
    }

    static let cases: [Case] = [
        Case(fixture: "stat") { _ = try ProcStatParser.parse($0, userHZ: 100) },
        Case(fixture: "loadavg") { _ = try LoadAvgParser.parse($0) },
        Case(fixture: "pressure/io") { _ = try PressureParser.parse($0) },
        Case(fixture: "meminfo") { _ = try MemInfoParser.parse($0) },
        Case(fixture: "diskstats") { _ = try DiskStatsParser.parse($0) },
        Case(fixture: "self/mounts") { _ = try MountsParser.parse($0) },
        Case(fixture: "net/dev") { _ = try NetDevParser.parse($0) },
        Case(fixture: "net/sockstat") { _ = try SockStatParser.parse($0) },
        Case(fixture: "pid/stat") { _ = try ProcessStatParser.parse($0) },
        Case(fixture: "pid/cmdline", rejectsSomething: false) { _ = ProcessCmdlineParser.parse($0) },
    ]

    @Test(arguments: cases)
    func prefixesAndCorruptionsNeverTrap(_ testCase: Case) throws {
        let original = try ProcFixtures.bytes(testCase.fixture)
        try testCase.parse(original)

        var inputs: [[UInt8]] = (0..<original.count).map { Array(original.prefix($0)) }
        let alphabet = Array(" \t\n:()=/\\0123456789-xé\u{0}".utf8)
        inputs += Corruptions.of(original, count: 300, seed: 42, alphabet: alphabet)

        var failures = 0
        for input in inputs {
            do {
                try testCase.parse(input)
            } catch is ProcParseError {
                failures += 1
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
        #expect((failures > 0) == testCase.rejectsSomething, "rejected \(failures) of \(inputs.count)")
    }
}
