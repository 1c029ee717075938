import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct RedisTopKeysTests {
    @Test("keeps the N biggest and the N most used keys, largest first, ties by name")
    func topN() {
        var top = RedisTopKeys(limit: 3)
        for (index, bytes) in [50, 900, 10, 900, 300, 70].enumerated() {
            top.add(
                key: Array("k\(index)".utf8), type: "other", pattern: nil, bytes: Int64(bytes),
                frequency: index == 2 ? 255 : Int64(index))
        }
        top.add(key: Array("gone".utf8), type: "other", pattern: nil, bytes: nil, frequency: nil)
        #expect(top.largest.map(\.name) == ["k1", "k3", "k4"])
        #expect(top.largest.map(\.value) == [900, 900, 300])
        #expect(top.mostUsed.map(\.name) == ["k2", "k5", "k4"])
        #expect(top.sampledKeys == 7)
        let off = RedisTopKeys(limit: 0)
        #expect(off.largest.isEmpty)
    }

    @Test("the event: by_frequency null without OBJECT FREQ, refusals kept once per command, valid JSON")
    func event() throws {
        var top = RedisTopKeys(limit: 2)
        top.add(key: Array("search:1".utf8), type: "search_results", pattern: "search:*", bytes: 64, frequency: nil)
        top.refused("MEMORY USAGE", message: "NOPERM this user has no permissions")
        top.refused("MEMORY USAGE", message: "second")
        let event = top.event(timestampMs: 1_000, policy: "noeviction")
        #expect(event.kind == "redis_top_keys" && event.key == "top_keys")
        let payload = try #require(JSONValue.parse(event.payload))
        #expect(payload["by_frequency"] == JSONValue.null)
        #expect(payload["maxmemory_policy"]?.stringValue == "noeviction")
        guard case .array(let sizes)? = payload["by_size"], case .array(let refused)? = payload["refused"] else {
            Issue.record("by_size and refused are arrays: \(event.payload)")
            return
        }
        #expect(sizes.first?["key"]?.stringValue == "search:1" && sizes.first?["pattern"]?.stringValue == "search:*")
        #expect(sizes.first?["bytes"]?.doubleValue == 64)
        #expect(refused.count == 1 && refused.first?["error"]?.stringValue == "NOPERM this user has no permissions")
    }

    @Test(
        "key names print like redis-cli: control and non-UTF-8 bytes as \\xNN, cut at 200 characters",
        arguments: [
            ([UInt8]("plain:key".utf8), "plain:key"),
            ([UInt8]("a\nb\u{0}c".utf8), "a\\x0ab\\x00c"),
            ([0xFF, 0x41, 0xC3], "\\xffA\\xc3"),
            ([UInt8]("é<script>\"".utf8), "é<script>\""),
            ([0xC2, 0x85], "\\xc2\\x85"),
            ([0xE2, 0x82], "\\xe2\\x82"),
            ([0xED, 0xA0, 0x80], "\\xed\\xa0\\x80"),
        ]
    )
    func printable(_ bytes: [UInt8], _ expected: String) {
        #expect(RedisTopKeys.printable(bytes) == expected)
    }

    @Test("a 10 KB key name is cut to 200 characters")
    func longName() {
        let name = RedisTopKeys.printable([UInt8](repeating: UInt8(ascii: "x"), count: 10_240))
        #expect(name == String(repeating: "x", count: 200) + "…")
        #expect(RedisTopKeys.printable([UInt8](repeating: UInt8(ascii: "x"), count: 200)).count == 200)
    }
}
