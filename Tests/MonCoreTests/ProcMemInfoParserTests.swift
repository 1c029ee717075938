import MonTestSupport
import Testing

@testable import MonCore

@Suite struct ProcMemInfoParserTests {
    @Test func parsesTheCapturedFile() throws {
        let info = try MemInfoParser.parse(ProcFixtures.bytes("meminfo"))
        #expect(info.totalBytes == 24_683_656 * 1024)
        #expect(info.freeBytes == 22_810_600 * 1024)
        #expect(info.availableBytes == 24_027_240 * 1024)
        #expect(info.buffersBytes == 28_104 * 1024)
        #expect(info.cachedBytes == 1_349_100 * 1024)
        #expect(info.sReclaimableBytes == 117_508 * 1024)
        #expect(info.swapTotalBytes == 0)
        #expect(info.usedBytes == (24_683_656 - 24_027_240) * 1024)
    }

    @Test func withoutMemAvailableEstimatesIt() throws {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\nSReclaimable: 50 kB\n"
        let info = try MemInfoParser.parse(Array(text.utf8))
        #expect(info.availableBytes == nil)
        #expect(info.effectiveAvailableBytes == 400 * 1024)
        #expect(info.usedBytes == 600 * 1024)
    }

    @Test func valueWithoutUnitIsTakenAsIs() throws {
        let info = try MemInfoParser.parse(Array("MemTotal: 2048\nMemFree: 1024\nHugePages_Total: 0\n".utf8))
        #expect(info.totalBytes == 2048)
    }

    @Test(arguments: [
        ProcInput("empty", ""),
        ProcInput("truncated", "MemTotal:       24683656 kB\nMemFr"),
        ProcInput("garbage", "lots of memory\n"),
        ProcInput("no value", "MemTotal:\nMemFree: 1 kB\n"),
        ProcInput("bad number", "MemTotal: 12x kB\nMemFree: 1 kB\n"),
        ProcInput("bad unit", "MemTotal: 12 MB\nMemFree: 1 kB\n"),
        ProcInput("overflow", "MemTotal: 18446744073709551615 kB\nMemFree: 1 kB\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try MemInfoParser.parse(input.bytes) }
    }
}
