import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct RedisSlowlogParserTests {
    @Test func parsesTheCapturedReply() throws {
        let entries = try SlowlogParser.parse(RESPParser.parse(RedisFixtures.bytes("slowlog.resp")))
        #expect(entries.count == 10)
        #expect(entries.map(\.id) == Array((11...20).reversed()))
        #expect(
            entries[0]
                == SlowlogEntry(
                    id: 20,
                    timestamp: 1_795_932_343,
                    durationMicros: 6,
                    arguments: ["EXPIRE", "counter", "600"],
                    clientAddress: "/tmp/rfx/redis.sock:0",
                    clientName: "monagent-test"
                )
        )
        #expect(entries[0].command == "EXPIRE")
        // `redis-cli` clients are unnamed.
        #expect(entries[9].clientName == "")
        #expect(entries[9].arguments == ["SET", "other", "1"])
    }

    @Test func binaryArgumentsAreDecodedLossily() throws {
        let entries = try SlowlogParser.parse(RESPParser.parse(RedisFixtures.bytes("slowlog.resp")))
        let set = try #require(entries.first { $0.arguments.first == "SET" && $0.arguments[1] == "session:42" })
        #expect(set.arguments[2] == "bin\u{0}ary\u{FFFD}")
    }

    @Test func acceptsFourElementEntriesOfOldServers() throws {
        let reply = RedisReply.array([
            .array([.integer(3), .integer(1_700_000_000), .integer(15_000), .array([.string("KEYS"), .string("*")])])
        ])
        #expect(
            try SlowlogParser.parse(reply)
                == [SlowlogEntry(id: 3, timestamp: 1_700_000_000, durationMicros: 15_000, arguments: ["KEYS", "*"])]
        )
    }

    @Test func anEmptySlowlogIsNoEntries() throws {
        #expect(try SlowlogParser.parse(RESPParser.parse(Array("*0\r\n".utf8))) == [])
    }

    static let goodEntry: [RedisReply] = [
        .integer(1), .integer(1_700_000_000), .integer(10), .array([.string("GET"), .string("k")]),
        .string("127.0.0.1:5000"), .string(""),
    ]

    static func replacing(_ index: Int, with value: RedisReply) -> RedisReply {
        var entry = goodEntry
        entry[index] = value
        return .array([.array(entry)])
    }

    @Test(arguments: [
        ("not an array", RedisReply.status("OK"), "replied with status"),
        ("null", .null, "replied with null"),
        ("entry not an array", .array([.integer(1)]), "entry 1 is integer"),
        ("truncated entry", .array([.array([.integer(1), .integer(2), .integer(3)])]), "has 3 elements"),
        ("id not an integer", replacing(0, with: .string("1")), "id (element 1) is bulk string"),
        ("negative duration", replacing(2, with: .integer(-1)), "duration (element 3) is negative"),
        ("arguments not an array", replacing(3, with: .string("GET k")), "arguments (element 4)"),
        ("argument not a string", replacing(3, with: .array([.string("GET"), .integer(1)])), "argument 2 is integer"),
        ("client address not a string", replacing(4, with: .integer(0)), "client address (element 5)"),
        ("client name not a string", replacing(5, with: .array([])), "client name (element 6)"),
    ])
    func malformedRepliesThrowNamingTheEntry(_ name: String, _ reply: RedisReply, _ expected: String) {
        let error = #expect(throws: RedisError.self, "\(name)") { try SlowlogParser.parse(reply) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test func aServerErrorIsRejected() {
        let error = #expect(throws: RedisError.self) {
            try SlowlogParser.parse(.error("NOPERM this user has no permissions to run the 'slowlog|get' command"))
        }
        #expect(error?.code == .rejected)
        #expect(error?.message.contains("NOPERM") == true)
    }

    @Test func secondEntryIsNamedInTheError() {
        let reply = RedisReply.array([.array(Self.goodEntry), .array(Array(Self.goodEntry.prefix(2)))])
        let error = #expect(throws: RedisError.self) { try SlowlogParser.parse(reply) }
        #expect(error?.message.hasPrefix("SLOWLOG GET entry 2 ") == true)
    }
}
