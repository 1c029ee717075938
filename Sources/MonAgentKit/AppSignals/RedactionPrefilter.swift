/// A test that rules a redaction pattern out without running it: the longest run of plain
/// ASCII characters that every match of the pattern contains (`bearer` in
/// `(?i)bearer\s+…`, `://` in `://[^/\s:@]+:…`), looked for byte by byte.
///
/// It only ever says "cannot match" when the regular expression could not match either:
/// - the literal is read from the top level of the pattern only (groups, classes,
///   escapes like `\s` and anything a quantifier makes optional end a run), and a pattern
///   with a top-level `|`, an inline option other than a leading `(?i)`, or an escape it
///   does not know has no literal (it always runs);
/// - a text with any non-ASCII byte always runs the pattern: Swift's `Regex` compares
///   characters with canonical equivalence and Unicode case mapping (the Kelvin sign is a
///   `k` case-insensitively), which a byte search cannot follow.
struct RedactionPrefilter: Sendable, Equatable {
    /// Bytes every match contains (lowercased when `caseInsensitive`); nil: always run.
    let literal: [UInt8]?
    let caseInsensitive: Bool

    init(pattern: String) {
        (literal, caseInsensitive) = Self.requiredLiteral(pattern) ?? (nil, false)
    }

    /// False only when `text` cannot contain a match.
    func mayMatch(_ text: String) -> Bool {
        guard let literal else { return true }
        var text = text
        return text.withUTF8 { bytes in
            if bytes.contains(where: { $0 >= 0x80 }) { return true }
            guard bytes.count >= literal.count else { return false }
            for start in 0...(bytes.count - literal.count) where matches(bytes, at: start, literal) { return true }
            return false
        }
    }

    private func matches(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ literal: [UInt8]) -> Bool {
        for offset in 0..<literal.count {
            var byte = bytes[start + offset]
            if caseInsensitive, byte &- UInt8(ascii: "A") < 26 { byte |= 0x20 }
            if byte != literal[offset] { return false }
        }
        return true
    }

    /// The longest literal run at the top level of `pattern`, or nil when there is none or
    /// the pattern uses syntax this reading does not follow.
    static func requiredLiteral(_ pattern: String) -> (literal: [UInt8], caseInsensitive: Bool)? {
        let scalars = Array(pattern.unicodeScalars)
        var index = 0
        var caseInsensitive = false
        if pattern.hasPrefix("(?i)") {
            caseInsensitive = true
            index = 4
        }
        var best: [UInt8] = []
        var run: [UInt8] = []
        func endRun() {
            if run.count > best.count { best = run }
            run = []
        }
        func append(_ scalar: Unicode.Scalar) {
            guard scalar.isASCII else { return endRun() }
            let byte = UInt8(scalar.value)
            run.append(caseInsensitive && byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte)
        }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\\":
                guard index + 1 < scalars.count else { return nil }
                let escaped = scalars[index + 1]
                index += 2
                if escaped.isASCII, escaped.value > 0x20, escaped.value < 0x7F,
                    !escaped.properties.isAlphabetic, !("0"..."9").contains(escaped), escaped != "<", escaped != ">"
                {
                    // `\.`, `\/`, `\-`: the character itself.
                    append(escaped)
                } else if "sSdDwWbBtnr".unicodeScalars.contains(escaped) || escaped == "<" || escaped == ">" {
                    endRun()
                } else {
                    return nil
                }
            case "(":
                // An inline option changes how the rest reads: no literal.
                if index + 1 < scalars.count, scalars[index + 1] == "?", Self.isOptionGroup(scalars, index + 2) {
                    return nil
                }
                guard let end = skipGroup(scalars, from: index) else { return nil }
                index = end
                endRun()
            case "[":
                guard let end = skipClass(scalars, from: index) else { return nil }
                index = end
                endRun()
            case "|", ")":
                return nil
            case "*", "?", "+":
                // The atom before is optional or repeated: it is not part of a fixed run.
                if !run.isEmpty { run.removeLast() }
                endRun()
                index += 1
            case "{":
                if !run.isEmpty { run.removeLast() }
                endRun()
                guard let close = scalars[index...].firstIndex(of: "}") else { return nil }
                index = close + 1
            case ".", "^", "$":
                endRun()
                index += 1
            case "#", " ", "\t", "\n", "\r":
                // Literal unless extended mode, which only an inline option turns on (refused above).
                append(scalar)
                index += 1
            default:
                append(scalar)
                index += 1
            }
        }
        endRun()
        return best.isEmpty ? nil : (best, caseInsensitive)
    }

    /// `(?` followed by option letters and `)` or `:` — `(?i)`, `(?x-i:…)` and the like.
    private static func isOptionGroup(_ scalars: [Unicode.Scalar], _ start: Int) -> Bool {
        var index = start
        while index < scalars.count,
            scalars[index].properties.isAlphabetic || scalars[index] == "-"
                || scalars[index] == "^"
        {
            index += 1
        }
        return index > start && index < scalars.count && (scalars[index] == ")" || scalars[index] == ":")
    }

    /// The index after the `)` closing the group opened at `start`, or nil.
    private static func skipGroup(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        skip(scalars, from: start, open: "(", close: ")")
    }

    /// The index after the `]` closing the class opened at `start` (nested classes too), or nil.
    private static func skipClass(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        skip(scalars, from: start, open: "[", close: "]")
    }

    /// The index after the bracket that closes the one at `start`, nested ones and escapes
    /// skipped (and, inside a group, whole classes, whose `)` closes nothing), or nil.
    private static func skip(
        _ scalars: [Unicode.Scalar], from start: Int, open: Unicode.Scalar, close: Unicode.Scalar
    ) -> Int? {
        var depth = 0
        var index = start
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            if scalar == "\\" {
                index += 1
            } else if scalar == "[", open == "(" {
                guard let end = skipClass(scalars, from: index - 1) else { return nil }
                index = end
            } else if scalar == open {
                depth += 1
                guard open == "[" else { continue }
                // `[]…]` and `[^]…]`: engines differ on that `]`; no literal rather than a guess.
                if index < scalars.count, scalars[index] == "^" { index += 1 }
                if index < scalars.count, scalars[index] == "]" { return nil }
            } else if scalar == close {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }
}
