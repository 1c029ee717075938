import Foundation
import Testing

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
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil),
            let data = FileManager.default.contents(atPath: root.appendingPathComponent("redis/\(name)").path)
        else { throw MissingFixture(name: name) }
        return [UInt8](data)
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    /// Seeded random corruptions of `original`: bytes replaced from `alphabet`, removed, or inserted.
    static func corruptions(of original: [UInt8], count: Int, seed: UInt64, alphabet: [UInt8]) -> [[UInt8]] {
        var random = SplitMix64(state: seed)
        var inputs: [[UInt8]] = []
        for _ in 0..<count where !original.isEmpty {
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
        return inputs
    }

    /// SplitMix64: deterministic, so a failure reproduces.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// A named input for table tests of Redis parsers.
struct RedisInput: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]

    init(_ name: String, _ text: String) {
        self.name = name
        self.bytes = Array(text.utf8)
    }

    init(_ name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
    var testDescription: String { name }
}
