/// Removes secrets from text that may reach a log line, an error or an endpoint.
public enum SecretRedaction {
    static let secretKeys = ["password", "passwd", "pass", "sslpassword"]

    /// `postgresql://user:secret@host/db` → `postgresql://user:***@host/db`;
    /// `host=x password = 'a b'` → `host=x password = ***`; query `?password=...` too.
    public static func redactURL(_ url: String) -> String {
        var scalars = Array(url.unicodeScalars)
        redactUserInfo(&scalars)
        redactKeywords(&scalars)
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// `scheme://user:secret@host` — the part between the first `:` and the last `@` of the authority.
    private static func redactUserInfo(_ text: inout [Unicode.Scalar]) {
        guard let scheme = indexOf("://", in: text) else { return }
        let start = scheme + 3
        let end = text[start...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? text.endIndex
        guard let at = text[start..<end].lastIndex(of: "@"),
            let colon = text[start..<at].firstIndex(of: ":")
        else { return }
        text.replaceSubrange((colon + 1)..<at, with: "***".unicodeScalars)
    }

    /// `password=value`, `password = 'quoted \' value'`, `?password=value&...`, any case.
    private static func redactKeywords(_ text: inout [Unicode.Scalar]) {
        var index = 0
        while index < text.count {
            guard let keyEnd = secretKeyEnd(in: text, at: index) else {
                index += 1
                continue
            }
            var cursor = keyEnd
            while cursor < text.count, text[cursor] == " " { cursor += 1 }
            guard cursor < text.count, text[cursor] == "=" else {
                index = keyEnd
                continue
            }
            cursor += 1
            while cursor < text.count, text[cursor] == " " { cursor += 1 }
            let valueStart = cursor
            if cursor < text.count, text[cursor] == "'" {
                cursor += 1
                while cursor < text.count, text[cursor] != "'" {
                    cursor += text[cursor] == "\\" ? 2 : 1
                }
                cursor = min(text.count, cursor + 1)
            } else {
                while cursor < text.count, text[cursor] != " ", text[cursor] != "&", text[cursor] != "\n" {
                    cursor += 1
                }
            }
            text.replaceSubrange(valueStart..<cursor, with: "***".unicodeScalars)
            index = valueStart + 3
        }
    }

    /// End of a secret keyword starting at `index` (on a word boundary), or nil.
    private static func secretKeyEnd(in text: [Unicode.Scalar], at index: Int) -> Int? {
        if index > 0, isWordScalar(text[index - 1]) { return nil }
        for key in secretKeys.sorted(by: { $0.count > $1.count }) {
            let keyScalars = Array(key.unicodeScalars)
            guard index + keyScalars.count <= text.count else { continue }
            let candidate = text[index..<(index + keyScalars.count)]
            if zip(candidate, keyScalars).allSatisfy({ lowercase($0) == $1 }) {
                let end = index + keyScalars.count
                if end < text.count, isWordScalar(text[end]) { continue }
                return end
            }
        }
        return nil
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_"
    }

    private static func lowercase(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32) ?? scalar : scalar
    }

    private static func indexOf(_ needle: String, in text: [Unicode.Scalar]) -> Int? {
        let pattern = Array(needle.unicodeScalars)
        guard text.count >= pattern.count else { return nil }
        return (0...(text.count - pattern.count)).first { Array(text[$0..<($0 + pattern.count)]) == pattern }
    }
}
