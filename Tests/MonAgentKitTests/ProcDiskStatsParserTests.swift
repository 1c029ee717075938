import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcDiskStatsParserTests {
    @Test func parsesTheCapturedFile() throws {
        let disks = try DiskStatsParser.parse(ProcFixtures.bytes("diskstats"))
        #expect(
            disks.map(\.device) == [
                "loop0", "loop1", "loop2", "loop3", "loop4", "loop5", "loop6", "loop7", "vda", "zram0",
            ])
        let vda = try #require(disks.first { $0.device == "vda" })
        #expect(
            vda
                == DiskStats(
                    major: 254, minor: 0, device: "vda", readsCompleted: 31377, readBytes: 2_672_554 * 512,
                    writesCompleted: 13337, writtenBytes: 2_519_368 * 512, ioTimeMs: 9648))
    }

    @Test func oldFourteenFieldFormat() throws {
        let disks = try DiskStatsParser.parse(Array("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n".utf8))
        #expect(disks.first?.readBytes == 3 * 512)
        #expect(disks.first?.ioTimeMs == 10)
    }

    @Test func emptyFileMeansNoDevices() throws {
        #expect(try DiskStatsParser.parse([]).isEmpty)
    }

    @Test(arguments: [
        ProcInput("truncated", " 254       0 vda 31377 6406 2672554 11760 13337 2970"),
        ProcInput("garbage", "spinning rust\n"),
        ProcInput("bad major", " x 0 vda 1 2 3 4 5 6 7 8 9 10 11\n"),
        ProcInput("bad counter", " 254 0 vda 1 2 3 4 5 6 7 8 9 -10 11\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try DiskStatsParser.parse(input.bytes) }
    }
}
