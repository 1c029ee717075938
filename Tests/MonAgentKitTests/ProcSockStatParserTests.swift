import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcSockStatParserTests {
    @Test func parsesTheCapturedFile() throws {
        let stat = try SockStatParser.parse(ProcFixtures.bytes("net/sockstat"))
        #expect(stat.socketsUsed == 33)
        #expect(stat.tcp == ["inuse": 1, "orphan": 0, "tw": 0, "alloc": 1, "mem": 269])
        #expect(stat.udp == ["inuse": 0, "mem": 0])
    }

    @Test(arguments: [
        ProcInput("empty", ""),
        ProcInput("truncated", "sockets: used"),
        ProcInput("no sockets line", "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 269\n"),
        ProcInput("garbage", "lots of sockets\n"),
        ProcInput("odd pairs", "sockets: used 3\nTCP: inuse 1 orphan\n"),
        ProcInput("bad number", "sockets: used many\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try SockStatParser.parse(input.bytes) }
    }
}
