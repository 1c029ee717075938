import MonCore

/// The biggest keys (by sampled `MEMORY USAGE`) and, under an LFU `maxmemory-policy`, the
/// most used ones (`OBJECT FREQ`) met during one SCAN walk; published as one
/// `redis_top_keys` event when the walk completes (the daemon keeps the latest per host).
///
/// Key names never become metric labels (unbounded, and they may hold personal data): they
/// travel in the event only, and the daemon shows them to admins (viewers get a mask).
public struct RedisTopKeys: Sendable {
    /// Characters of a key name kept; longer names are cut (`key_bytes` keeps the length).
    public static let maxNameCharacters = 200
    private static let hexDigits = Array("0123456789abcdef")

    /// One key as shipped: its printable name, cache type and the matched pattern.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var nameBytes: Int
        public var type: String
        public var pattern: String?
        public var value: Int64
    }

    public let limit: Int
    private var bySize: [Entry] = []
    private var byFrequency: [Entry] = []
    /// Keys whose size (and frequency) was asked during the walk.
    public private(set) var sampledKeys = 0
    public private(set) var frequencySampled = false
    /// Commands Redis refused during the walk (ACL, renamed command), by command.
    public private(set) var refusals: [String: String] = [:]

    public init(limit: Int) { self.limit = limit }

    /// Records one key's sampled size (bytes) and access frequency (nil when not asked or refused).
    public mutating func add(key: [UInt8], type: String, pattern: String?, bytes: Int64?, frequency: Int64?) {
        sampledKeys += 1
        guard limit > 0 else { return }
        // The printable name only for a key that enters a list, and once for both.
        var name: String?
        func entry(_ value: Int64) -> Entry {
            let printed = name ?? Self.printable(key)
            name = printed
            return Entry(name: printed, nameBytes: key.count, type: type, pattern: pattern, value: value)
        }
        if let bytes, Self.admits(bytes, bySize, limit: limit) {
            Self.insert(entry(bytes), into: &bySize, limit: limit)
        }
        if let frequency {
            frequencySampled = true
            if Self.admits(frequency, byFrequency, limit: limit) {
                Self.insert(entry(frequency), into: &byFrequency, limit: limit)
            }
        }
    }

    /// Notes a refused command (the first message per command is kept).
    public mutating func refused(_ command: String, message: String) {
        if refusals[command] == nil { refusals[command] = String(message.prefix(200)) }
    }

    public var largest: [Entry] { bySize }
    public var mostUsed: [Entry] { byFrequency }

    /// Whether a key of `value` would enter `entries` (not full, or above its smallest).
    static func admits(_ value: Int64, _ entries: [Entry], limit: Int) -> Bool {
        guard entries.count >= limit, let last = entries.last else { return true }
        return value > last.value
    }

    /// Keeps `entries` sorted by value (descending, then name) and at most `limit` long.
    static func insert(_ entry: Entry, into entries: inout [Entry], limit: Int) {
        guard admits(entry.value, entries, limit: limit) else { return }
        let index =
            entries.firstIndex { $0.value < entry.value || ($0.value == entry.value && $0.name > entry.name) }
            ?? entries.endIndex
        entries.insert(entry, at: index)
        if entries.count > limit { entries.removeLast(entries.count - limit) }
    }

    /// A key's bytes as text: valid UTF-8 as is, except control characters and bytes that are
    /// not UTF-8, which become `\xNN` (as redis-cli prints them; so no NUL reaches jsonb);
    /// cut at `maxNameCharacters` with `…`.
    public static func printable(_ bytes: [UInt8]) -> String {
        var text = ""
        var characters = 0
        var index = 0
        func hex(_ byte: UInt8) -> String {
            "\\x" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0xF)])
        }
        while index < bytes.count {
            guard characters < maxNameCharacters else { return text + "…" }
            characters += 1
            let lead = bytes[index]
            let width = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0
            let slice = bytes[index..<min(bytes.count, index + max(width, 1))]
            let decoded = String(decoding: slice, as: UTF8.self)
            guard width > 0, slice.count == width, decoded.utf8.elementsEqual(slice),
                let scalar = decoded.unicodeScalars.first
            else {
                text += hex(lead)
                index += 1
                continue
            }
            if scalar.properties.generalCategory == .control {
                text += slice.map(hex).joined()
            } else {
                text.unicodeScalars.append(scalar)
            }
            index += width
        }
        return text
    }

    /// The walk's event: `by_size` and `by_frequency` (null unless the policy is LFU and
    /// `OBJECT FREQ` answered), the policy, how many keys were sampled, and refusals.
    public func event(timestampMs: Int64, policy: String?) -> Event {
        func list(_ entries: [Entry], _ field: String) -> JSONValue {
            .array(
                entries.map {
                    .object([
                        ("key", .string($0.name)), ("key_bytes", .number(Double($0.nameBytes))),
                        ("type", .string($0.type)), ("pattern", $0.pattern.map(JSONValue.string) ?? .null),
                        (field, .number(Double($0.value))),
                    ])
                })
        }
        return Event(
            kind: RedisTopKeysEvent.kind, key: RedisTopKeysEvent.key, timestampMs: timestampMs,
            payload: .object([
                ("maxmemory_policy", policy.map(JSONValue.string) ?? .null),
                ("sampled_keys", .number(Double(sampledKeys))),
                ("by_size", list(bySize, "bytes")),
                ("by_frequency", frequencySampled ? list(byFrequency, "frequency") : .null),
                (
                    "refused",
                    .array(
                        refusals.sorted { $0.key < $1.key }.map {
                            .object([("command", .string($0.key)), ("error", .string($0.value))])
                        })
                ),
            ]))
    }
}
