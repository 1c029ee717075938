import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct RedisRESPParserTests {
    @Test func parsesTheCapturedSlowlogReply() throws {
        let reply = try RESPParser.parse(RedisFixtures.bytes("slowlog.resp"))
        guard case .array(let entries) = reply else {
            Issue.record("expected an array, got \(reply.kind)")
            return
        }
        #expect(entries.count == 10)
        #expect(
            entries.first
                == .array([
                    .integer(20), .integer(1_795_932_343), .integer(6),
                    .array([.string("EXPIRE"), .string("counter"), .string("600")]),
                    .string("/tmp/rfx/redis.sock:0"), .string("monagent-test"),
                ])
        )
    }

    @Test(arguments: [
        ("+OK\r\n", RedisReply.status("OK")),
        ("-ERR unknown command 'X'\r\n", .error("ERR unknown command 'X'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(Int64.max)),
        ("$5\r\nhello\r\n", .string("hello")),
        ("$0\r\n\r\n", .string([])),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        ("+\r\n", .status("")),
        (
            "*3\r\n:1\r\n$-1\r\n*2\r\n+a\r\n$1\r\nb\r\n",
            .array([.integer(1), .null, .array([.status("a"), .string("b")])])
        ),
    ])
    func parsesEachReplyType(_ text: String, _ expected: RedisReply) throws {
        #expect(try RESPParser.parse(Array(text.utf8)) == expected)
    }

    @Test func bulkStringsAreBinarySafe() throws {
        let body: [UInt8] = [0, 13, 10, 0xFF, 36, 42]
        let reply = try RESPParser.parse(Array("$6\r\n".utf8) + body + [13, 10])
        #expect(reply == .string(body))
        #expect(reply.text == nil)
    }

    @Test(arguments: [
        RedisInput("empty", ""),
        RedisInput("truncated bulk", "$10\r\nhello\r\n"),
        RedisInput("truncated array", "*3\r\n:1\r\n:2\r\n"),
        RedisInput("no CRLF", "+OK"),
        RedisInput("CR only at end", "+OK\r"),
        RedisInput("garbage", "hello world\r\n"),
        RedisInput("LF without CR", "+OK\n"),
        RedisInput("CR without LF", "+O\rK\r\n"),
        RedisInput("unknown type byte", "!3\r\nabc\r\n"),
        RedisInput("RESP3 map", "%1\r\n+a\r\n+b\r\n"),
        RedisInput("trailing bytes", "+OK\r\n+OK\r\n"),
        RedisInput("bulk without final CRLF", "$3\r\nabcXY"),
        RedisInput("negative bulk length", "$-2\r\n"),
        RedisInput("negative array length", "*-5\r\n"),
        RedisInput("empty integer", ":\r\n"),
        RedisInput("minus only", ":-\r\n"),
        RedisInput("plus sign", ":+1\r\n"),
        RedisInput("integer overflow", ":9223372036854775808\r\n"),
        RedisInput("non-numeric length", "$abc\r\nabc\r\n"),
        RedisInput("huge announced bulk", "$9999999999\r\nabc\r\n"),
        RedisInput("bulk above 512 MiB", "$536870913\r\n"),
        RedisInput("huge announced array", "*2147483647\r\n:1\r\n"),
    ])
    func badInputThrowsProtocolError(_ input: RedisInput) {
        let error = #expect(throws: RedisError.self) { try RESPParser.parse(input.bytes) }
        #expect(error?.code == .protocol)
    }

    @Test func nestingIsLimitedTo32Arrays() throws {
        let allowed = String(repeating: "*1\r\n", count: 32) + ":1\r\n"
        var expected = RedisReply.integer(1)
        for _ in 0..<32 { expected = .array([expected]) }
        #expect(try RESPParser.parse(Array(allowed.utf8)) == expected)

        let tooDeep = String(repeating: "*1\r\n", count: 33) + ":1\r\n"
        let error = #expect(throws: RedisError.self) { try RESPParser.parse(Array(tooDeep.utf8)) }
        #expect(error?.message.contains("nested deeper than 32") == true)
    }

    @Test func errorsNameTheByteOffset() {
        let error = #expect(throws: RedisError.self) { try RESPParser.parse(Array("*2\r\n:1\r\n$9\r\nabc\r\n".utf8)) }
        #expect(error?.message.contains("bulk string at byte 8 announces 9 bytes") == true)
    }

    @Test func everyPrefixOfTheCaptureThrows() throws {
        let capture = try RedisFixtures.bytes("slowlog.resp")
        for length in 0..<capture.count {
            #expect(throws: RedisError.self, "prefix of \(length) bytes") {
                try RESPParser.parse(Array(capture.prefix(length)))
            }
        }
    }

    @Test func seededCorruptionsParseOrThrowButNeverTrap() throws {
        let capture = try RedisFixtures.bytes("slowlog.resp")
        let inputs = Corruptions.of(
            capture,
            count: 500,
            seed: 7,
            alphabet: Array("*$:+-\r\n0123456789".utf8)
        )
        var rejected = 0
        for input in inputs {
            do {
                _ = try RESPParser.parse(input)
            } catch {
                #expect(error.code == .protocol)
                rejected += 1
            }
        }
        #expect(rejected > 0, "rejected \(rejected) of \(inputs.count)")
    }
}
