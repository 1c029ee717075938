import Testing

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

    /// SplitMix64: deterministic, so a failure reproduces.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: cases)
    func prefixesAndCorruptionsNeverTrap(_ testCase: Case) throws {
        let original = try ProcFixtures.bytes(testCase.fixture)
        try testCase.parse(original)

        var inputs: [[UInt8]] = (0..<original.count).map { Array(original.prefix($0)) }
        var random = SeededGenerator(state: 42)
        let alphabet = Array(" \t\n:()=/\\0123456789-xé\u{0}".utf8)
        for _ in 0..<300 where !original.isEmpty {
            var bytes = original
            for _ in 0...Int.random(in: 0...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: bytes[index] = alphabet.randomElement(using: &random) ?? 0
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                }
                if bytes.isEmpty { break }
            }
            inputs.append(bytes)
        }

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
