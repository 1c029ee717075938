import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcNetDevParserTests {
    @Test func parsesTheCapturedFile() throws {
        let interfaces = try NetDevParser.parse(ProcFixtures.bytes("net/dev"))
        #expect(interfaces.map(\.interface) == ["lo", "ifb0", "ifb1", "eth0"])
        #expect(
            interfaces.last
                == NetDevStats(
                    interface: "eth0", receiveBytes: 48_274_307, receivePackets: 1439, receiveErrors: 0, receiveDrop: 0,
                    transmitBytes: 56261, transmitPackets: 707, transmitErrors: 0, transmitDrop: 0))
    }

    @Test func numberGluedToTheColon() throws {
        let text = "eth1:123456789012 5 1 2 0 0 0 0 77 6 3 4 0 0 0 0\n"
        let interfaces = try NetDevParser.parse(Array(text.utf8))
        #expect(interfaces.first?.receiveBytes == 123_456_789_012)
        #expect(interfaces.first?.receiveErrors == 1)
        #expect(interfaces.first?.transmitDrop == 4)
    }

    @Test func headersOnlyMeansNoInterfaces() throws {
        let bytes = try ProcFixtures.bytes("net/dev")
        let headers = Array(
            String(decoding: bytes, as: UTF8.self).split(separator: "\n").prefix(2).joined(separator: "\n").utf8)
        #expect(try NetDevParser.parse(headers).isEmpty)
    }

    @Test(arguments: [
        ProcInput("empty", ""),
        ProcInput("truncated", "Inter-|   Receive\n face |bytes\n  eth0: 48274307    1439    0"),
        ProcInput("garbage", "no interfaces here\n"),
        ProcInput("name with space", "et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"),
        ProcInput("bad counter", "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try NetDevParser.parse(input.bytes) }
    }
}
