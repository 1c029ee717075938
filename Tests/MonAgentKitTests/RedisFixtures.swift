import Foundation
import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// Access to `Fixtures/redis`: verbatim captures from a redis-server 7.0.15.
///
/// `info.txt` is the bulk-string body of `INFO everything` (CRLF kept); `slowlog.resp` is the
/// raw RESP reply to `SLOWLOG GET 10`, byte for byte as read from the socket.
enum RedisFixtures {
    struct MissingFixture: Error, CustomStringConvertible {
        var name: String
        var description: String { "fixture not found: Fixtures/redis/\(name)" }
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        try Fixtures.bytes("redis/\(name)")
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

}
