import MonCore

/// Masks secrets: fields whose name contains a configured word, and configured patterns
/// in every string.
///
/// Every string of every log line goes through it, so the common case is kept cheap
/// without changing what is masked: a pattern runs only on a text that contains its
/// required literal (`RedactionPrefilter`), and an ASCII field name is compared with the
/// configured words byte by byte. Anything else takes the general path.
public struct Redactor: Sendable {
    public static let mask = "[REDACTED]"
    let keys: [String]
    /// `keys` as bytes, for ASCII field names (a non-ASCII word can never be in one).
    let asciiKeys: [[UInt8]]
    nonisolated(unsafe) let patterns: [Regex<AnyRegexOutput>]
    let prefilters: [RedactionPrefilter]

    public init(keys: [String], patterns: [String]) throws {
        self.keys = keys.map { $0.lowercased().replacingOccurrences(of: "-", with: "_") }
        asciiKeys = self.keys.map { Array($0.utf8) }.filter { $0.allSatisfy { $0 < 0x80 } }
        self.patterns = try patterns.map { try Regex($0) }
        prefilters = patterns.map(RedactionPrefilter.init(pattern:))
    }

    public func isSecretKey(_ key: String) -> Bool {
        var key = key
        if let answer = key.withUTF8({ Self.asciiKeyContains($0, asciiKeys) }) { return answer }
        return Self.containsKey(key, keys)
    }

    /// The general test: `key` lowercased, `-` as `_`, contains one of `keys`.
    static func containsKey(_ key: String, _ keys: [String]) -> Bool {
        let normalized = key.lowercased().replacingOccurrences(of: "-", with: "_")
        return keys.contains { normalized.contains($0) }
    }

    /// The same test for an ASCII name, without building a string; nil for a non-ASCII name.
    static func asciiKeyContains(_ name: UnsafeBufferPointer<UInt8>, _ keys: [[UInt8]]) -> Bool? {
        guard name.allSatisfy({ $0 < 0x80 }) else { return nil }
        @inline(__always) func normalized(_ byte: UInt8) -> UInt8 {
            if byte == UInt8(ascii: "-") { return UInt8(ascii: "_") }
            return byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
        }
        for key in keys where !key.isEmpty && key.count <= name.count {
            var start = 0
            while start + key.count <= name.count {
                var offset = 0
                while offset < key.count, normalized(name[start + offset]) == key[offset] { offset += 1 }
                if offset == key.count { return true }
                start += 1
            }
        }
        return false
    }

    /// Masks pattern matches in `text`; `count` grows by the number of masks.
    public func redact(_ text: String, count: inout Int) -> String {
        var out = text
        for (pattern, prefilter) in zip(patterns, prefilters) where prefilter.mayMatch(out) && out.contains(pattern) {
            let matches = out.matches(of: pattern).count
            count += matches
            out = out.replacing(pattern, with: Self.mask)
        }
        return out
    }

    /// Masks a JSON value: secret keys' values whole, patterns inside strings.
    public func redact(_ value: JSONValue, count: inout Int) -> JSONValue {
        switch value {
        case .string(let text): return .string(redact(text, count: &count))
        case .array(let values): return .array(values.map { redact($0, count: &count) })
        case .object(let pairs):
            return .object(
                pairs.map { key, value in
                    if isSecretKey(key), value != .null {
                        count += 1
                        return (key, .string(Self.mask))
                    }
                    return (key, redact(value, count: &count))
                })
        default: return value
        }
    }
}
