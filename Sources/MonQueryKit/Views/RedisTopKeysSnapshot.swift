import MonCore

/// One host's latest top-keys snapshot (the agent's `redis_top_keys` event, one per
/// completed SCAN walk): the biggest keys by sampled `MEMORY USAGE` and, under an LFU
/// `maxmemory-policy`, the most used by `OBJECT FREQ`. What `GET /api/monitoring/redis/top_keys`
/// answers per host and the dashboard's Redis page shows.
///
/// Key names are the application's data (they can hold e-mail addresses, tokens): only an
/// admin gets them; a viewer gets `mask(_:pattern:)` of each instead (`names_hidden`).
public struct RedisTopKeysSnapshot: Sendable {
    public struct Key: Sendable, Equatable {
        /// The name as the agent printed it (control and non-UTF-8 bytes as `\xNN`, cut at 200 characters).
        public var name: String
        /// The name's length in bytes in Redis.
        public var nameBytes: Double?
        public var type: String
        public var pattern: String?
        /// Bytes (`by_size`) or the LFU counter (`by_frequency`).
        public var value: Double
    }

    public let host: String
    public let timestampMs: Int64
    public let maxmemoryPolicy: String?
    public let sampledKeys: Double?
    public let bySize: [Key]
    /// Nil when the policy is not LFU (Redis tracks no frequency then).
    public let byFrequency: [Key]?
    /// `(command, error)` of the sampling commands Redis refused during the walk.
    public let refused: [(command: String, error: String)]

    /// The latest snapshot of every host (one host when `host` is set) within `range`.
    public static func load(_ store: QueryStore, range: TimeRange, host: String?) async throws -> [RedisTopKeysSnapshot]
    {
        try await store.latestEvents(kind: RedisTopKeysEvent.kind, host: host, range: range).compactMap(Self.init(row:))
            .sorted { $0.host < $1.host }
    }

    init?(row: QueryStore.EventRow) {
        guard let payload = row.payload.value else { return nil }
        self.init(payload: payload, host: row.host, timestampMs: row.timestampMs)
    }

    /// A snapshot from a `redis_top_keys` event's payload; entries without a name or a
    /// numeric value are left out, a missing list is empty (`by_frequency`: nil).
    public init(payload: JSONValue, host: String, timestampMs: Int64) {
        func keys(_ field: String, _ valueField: String) -> [Key]? {
            guard case .array(let items)? = payload[field] else { return nil }
            return items.compactMap { item in
                guard let name = item["key"]?.stringValue, let value = item[valueField]?.doubleValue else { return nil }
                return Key(
                    name: name, nameBytes: item["key_bytes"]?.doubleValue, type: item["type"]?.stringValue ?? "other",
                    pattern: item["pattern"]?.stringValue, value: value)
            }
        }
        self.host = host
        self.timestampMs = timestampMs
        maxmemoryPolicy = payload["maxmemory_policy"]?.stringValue
        sampledKeys = payload["sampled_keys"]?.doubleValue
        bySize = keys("by_size", "bytes") ?? []
        byFrequency = keys("by_frequency", "frequency")
        var refused: [(command: String, error: String)] = []
        if case .array(let items)? = payload["refused"] {
            for item in items {
                if let command = item["command"]?.stringValue {
                    refused.append((command, item["error"]?.stringValue ?? ""))
                }
            }
        }
        self.refused = refused
    }

    /// What a viewer sees of a key: its cache type's pattern (`search:*`) when it matched one,
    /// else its first segment and `:*` when that segment looks like a namespace (`user:*`: a
    /// letter, then at most 31 letters, digits, `_`, `-` or `.`), else `*`. A first segment
    /// that is not namespace-like may be the data itself (`alice@example.com:profile`,
    /// `4711:cart`), so it is not shown.
    public static func mask(_ name: String, pattern: String?) -> String {
        if let pattern, !pattern.isEmpty { return pattern }
        guard let colon = name.utf8.firstIndex(of: UInt8(ascii: ":")) else { return "*" }
        let segment = name.utf8[..<colon]
        guard let first = segment.first, (1...32).contains(segment.count), isLetter(first),
            segment.allSatisfy({ isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E })
        else { return "*" }
        return String(decoding: segment, as: UTF8.self) + ":*"
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }

    /// `OBJECT FREQ` ranks only under an LFU policy; says why `by_frequency` is null.
    public var frequencyNote: String? {
        guard byFrequency == nil else { return nil }
        if let maxmemoryPolicy, !maxmemoryPolicy.hasSuffix("-lfu") {
            return
                "maxmemory-policy is \(maxmemoryPolicy): Redis tracks access frequency only under allkeys-lfu or volatile-lfu"
        }
        return "no access frequency was sampled"
    }

    /// The host's entry of `/redis/top_keys`; `names` (admin): the key names, else their masks.
    public func json(names: Bool) -> JSONValue {
        func list(_ keys: [Key], _ field: String) -> JSONValue {
            .array(
                keys.map { key in
                    .object([
                        ("key", .string(names ? key.name : Self.mask(key.name, pattern: key.pattern))),
                        ("key_bytes", .number(key.nameBytes)), ("type", .string(key.type)),
                        ("pattern", key.pattern.map(JSONValue.string) ?? .null), (field, .number(key.value)),
                    ])
                })
        }
        return .object([
            ("host", .string(host)),
            ("timestamp", .string(Timestamp.iso8601(ms: timestampMs))),
            ("maxmemory_policy", maxmemoryPolicy.map(JSONValue.string) ?? .null),
            ("sampled_keys", .number(sampledKeys)),
            ("names_hidden", .bool(!names)),
            ("by_size", list(bySize, "bytes")),
            ("by_frequency", byFrequency.map { list($0, "frequency") } ?? .null),
            ("frequency_note", frequencyNote.map(JSONValue.string) ?? .null),
            (
                "refused",
                .array(refused.map { .object([("command", .string($0.command)), ("error", .string($0.error))]) })
            ),
        ])
    }
}
