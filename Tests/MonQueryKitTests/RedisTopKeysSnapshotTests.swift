import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct RedisTopKeysSnapshotTests {
    @Test(
        "a viewer's mask: the cache type's pattern, else a namespace-like first segment, else *",
        arguments: [
            ("search:alice@example.com", "search:*", "search:*"), ("user:alice@example.com", nil, "user:*"),
            ("alice@example.com", nil, "*"), (String(repeating: "s", count: 50) + ":x", nil, "*"),
            (String(repeating: "s", count: 32) + ":x", nil, String(repeating: "s", count: 32) + ":*"),
            ("<script>:x", nil, "*"), ("alice@example.com:profile", nil, "*"), ("4711:cart", nil, "*"),
            ("session-v2.eu:abc", nil, "session-v2.eu:*"), (":x", nil, "*"), ("émile:x", nil, "*"),
            ("tok en:x", nil, "*"),
        ] as [(String, String?, String)]
    )
    func mask(_ name: String, _ pattern: String?, _ expected: String) {
        #expect(RedisTopKeysSnapshot.mask(name, pattern: pattern) == expected)
    }

    static let payload = """
        {"maxmemory_policy":"noeviction","sampled_keys":12,
         "by_size":[{"key":"user:alice@example.com","key_bytes":22,"type":"other","pattern":null,"bytes":204800},
                    {"key":"search:q=secret","key_bytes":15,"type":"search_results","pattern":"search:*","bytes":90}],
         "by_frequency":null,"refused":[{"command":"OBJECT FREQ","error":"NOPERM"}]}
        """

    @Test("admins get the names; viewers the masks, names_hidden, and never a name")
    func roles() throws {
        let row = QueryStore.EventRow(
            host: "h1", key: "top_keys", timestampMs: 1_700_000_000_000, payload: .init(Self.payload))
        let snapshot = try #require(RedisTopKeysSnapshot(row: row))
        let admin = snapshot.json(names: true).encoded()
        #expect(admin.contains("user:alice@example.com") && admin.contains("\"names_hidden\":false"))
        let viewer = snapshot.json(names: false)
        let text = viewer.encoded()
        #expect(!text.contains("alice") && !text.contains("secret"), "\(text)")
        #expect(text.contains("\"names_hidden\":true"))
        guard case .array(let sizes)? = viewer["by_size"] else {
            Issue.record("by_size: \(text)")
            return
        }
        #expect(sizes.map { $0["key"]?.stringValue } == ["user:*", "search:*"])
        #expect(viewer["by_frequency"] == JSONValue.null)
        #expect(viewer["frequency_note"]?.stringValue?.contains("noeviction") == true)
        #expect(snapshot.refused.first?.command == "OBJECT FREQ")
    }

    @Test("clients against maxclients in the status JSON")
    func clients() {
        let values = RedisStatus.figures.map { $0.metric == "mon_redis_connected_clients" ? 5 : nil as Double? }
        let status = RedisStatus(
            host: "h1", latestMs: nil, connected: true, version: "7", role: "master", memoryUsedBytes: nil,
            memoryMaxBytes: nil, memoryUsedRatio: nil, hitRatio: nil, hitsInPeriod: 0, missesInPeriod: 0,
            evictionsInPeriod: 0, evictionsLastHour: 0, figureValues: values, maxClients: 20)
        #expect(status.json["clients"]?["connected"]?.doubleValue == 5)
        #expect(status.json["clients"]?["max"]?.doubleValue == 20)
        #expect(status.json["clients"]?["used_percent"]?.doubleValue == 25)
    }
}
