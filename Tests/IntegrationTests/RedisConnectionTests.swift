import Foundation
import Testing

@testable import MonAgentKit
@testable import MonCore
@testable import MonQueryKit

/// Live tests against a real server: `MON_TEST_REDIS_URL=redis://127.0.0.1:6379/0 swift test --filter Redis`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MON_TEST_REDIS_URL"] != nil))
struct RedisConnectionTests {
    let url: RedisURL

    init() throws {
        url = try RedisURL(ProcessInfo.processInfo.environment["MON_TEST_REDIS_URL"] ?? "")
    }

    func uniqueKey(_ name: String) -> String { "monagent-test:\(name):\(UInt64.random(in: 0...UInt64.max))" }

    @Test func ping() throws {
        let connection = try RedisConnection(url: url)
        #expect(try connection.command(["PING"]) == .status("PONG"))
        #expect(!connection.isBroken)
    }

    @Test func setAndGetABinaryValue() throws {
        let connection = try RedisConnection(url: url)
        let key = uniqueKey("binary")
        let value: [UInt8] = [0, 1, 13, 10, 0xFF, 0xFE, 36, 42, 0]
        #expect(try connection.command(binary: [Array("SET".utf8), Array(key.utf8), value]) == .status("OK"))
        let reply = try connection.command(["GET", key])
        #expect(reply == .string(value))
        #expect(reply.text == nil)

        let text = "a\u{0}b\r\nc é"
        #expect(try connection.command(["SET", key, text]) == .status("OK"))
        #expect(try connection.command(["GET", key]).text == text)
        #expect(try connection.command(["DEL", key]) == .integer(1))
        #expect(try connection.command(["GET", key]) == .null)
    }

    @Test func pipelineOfThreeCommands() throws {
        let connection = try RedisConnection(url: url)
        let key = uniqueKey("pipeline")
        let replies = try connection.pipeline([["SET", key, "41"], ["INCR", key], ["GET", key]])
        #expect(replies == [.status("OK"), .integer(42), .string("42")])
        #expect(try connection.pipeline([["DEL", key], ["LRANGE", key, "0", "-1"]]) == [.integer(1), .array([])])
        #expect(try connection.pipeline([]) == [])
    }

    @Test func aServerErrorIsAReplyNotAThrow() throws {
        let connection = try RedisConnection(url: url)
        let reply = try connection.command(["NOSUCHCOMMAND", "x"])
        guard case .error(let message) = reply else {
            Issue.record("expected an error reply, got \(reply.kind)")
            return
        }
        #expect(message.hasPrefix("ERR unknown command"))
        let replies = try connection.pipeline([["PING"], ["INCR", "monagent-test:not-a-number", "extra"], ["PING"]])
        #expect(replies.count == 3)
        #expect(replies[2] == .status("PONG"))
        #expect(!connection.isBroken)
    }

    @Test func anEmptyCommandIsAnArgumentError() throws {
        let connection = try RedisConnection(url: url)
        let error = #expect(throws: RedisError.self) { try connection.command([]) }
        #expect(error?.code == .invalidArgument)
        #expect(try connection.command(["PING"]) == .status("PONG"))
    }

    @Test func aClosedPortIsAConnectionError() {
        let error = #expect(throws: RedisError.self) {
            _ = try RedisConnection(url: RedisURL(endpoint: .tcp(host: "127.0.0.1", port: 1)))
        }
        #expect(error?.code == .connection)
        #expect(error?.message.hasPrefix("cannot connect to redis://127.0.0.1:1/0: ") == true)
    }

    @Test func aMissingSocketIsAConnectionError() {
        let error = #expect(throws: RedisError.self) {
            _ = try RedisConnection(url: RedisURL(endpoint: .unix(path: "/nonexistent/monagent/redis.sock")))
        }
        #expect(error?.code == .connection)
    }

    @Test func aRefusedPasswordIsAnAuthenticationErrorThatDoesNotShowIt() throws {
        let error = #expect(throws: RedisError.self) {
            _ = try RedisConnection(url: url, password: "definitely-not-the-s3cret")
        }
        #expect(error?.code == .authentication)
        #expect(error.map { !$0.description.contains("s3cret") } == true, "\(error?.description ?? "")")
    }

    @Test func aDatabaseOutOfRangeIsRejected() {
        var outOfRange = url
        outOfRange.database = 100_000
        let error = #expect(throws: RedisError.self) { _ = try RedisConnection(url: outOfRange) }
        #expect(error?.code == .rejected)
    }

    @Test func aKilledConnectionIsBroken() throws {
        let victim = try RedisConnection(url: url)
        guard case .integer(let id) = try victim.command(["CLIENT", "ID"]) else {
            Issue.record("CLIENT ID did not return an integer")
            return
        }
        let killer = try RedisConnection(url: url)
        #expect(try killer.command(["CLIENT", "KILL", "ID", String(id)]) == .integer(1))

        let error = #expect(throws: RedisError.self) { try victim.command(["PING"]) }
        #expect(error?.code == .connection)
        #expect(victim.isBroken)
        let again = #expect(throws: RedisError.self) { try victim.pipeline([["PING"]]) }
        #expect(again?.message.contains("is broken; reconnect") == true)
    }

    /// hiredis writes with write(2): without the SIGPIPE guard a large write to a socket the
    /// server closed would kill the test process instead of throwing.
    @Test func writingToAClosedSocketThrowsInsteadOfRaisingSIGPIPE() throws {
        let victim = try RedisConnection(url: url)
        guard case .integer(let id) = try victim.command(["CLIENT", "ID"]) else {
            Issue.record("CLIENT ID did not return an integer")
            return
        }
        let killer = try RedisConnection(url: url)
        #expect(try killer.command(["CLIENT", "KILL", "ID", String(id)]) == .integer(1))
        #expect(try killer.command(["PING"]) == .status("PONG"))

        let large = [UInt8](repeating: 120, count: 16 << 20)
        let error = #expect(throws: RedisError.self) {
            try victim.command(binary: [Array("SET".utf8), Array(uniqueKey("large").utf8), large])
        }
        #expect(error?.code == .connection)
    }

    @Test func infoAndSlowlogFromALiveServerParse() throws {
        let connection = try RedisConnection(url: url)
        let info = try RedisInfoParser.parse(connection.command(["INFO", "everything"]))
        #expect(info.version != nil)
        #expect(info.connectedClients.map { $0 >= 1 } == true)
        _ = try SlowlogParser.parse(connection.command(["SLOWLOG", "GET", "10"]))
    }
}
