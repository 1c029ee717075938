/// Line and field splitting shared by the /proc parsers.
///
/// Everything here is total: no input makes it trap. Numbers that do not parse
/// become a `ProcParseError` naming the file, line and field.
package struct ProcText {
    package let file: String
    package let lines: [Substring]

    /// Decodes `bytes` (invalid UTF-8 becomes U+FFFD, which then fails number parsing).
    package init(_ bytes: [UInt8], file: String) {
        self.file = file
        let text = String(decoding: bytes, as: UTF8.self)
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0 }
    }

    /// True when the file has nothing but whitespace.
    package var isBlank: Bool { lines.allSatisfy(ProcText.isBlank) }

    /// Non-blank lines with their 1-based line numbers.
    package var numberedLines: [(number: Int, text: Substring)] {
        lines.enumerated().compactMap { index, line in
            ProcText.isBlank(line) ? nil : (index + 1, line)
        }
    }

    /// True when `line` has nothing but spaces and tabs (without splitting it).
    package static func isBlank(_ line: Substring) -> Bool {
        line.utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    }

    /// The first field of `line`, without splitting the rest (for skipping long lines unread).
    package static func firstField(_ line: Substring) -> Substring? {
        guard let start = line.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return nil }
        let end = line[start...].firstIndex(where: { $0 == " " || $0 == "\t" }) ?? line.endIndex
        return line[start..<end]
    }

    /// Splits on spaces and tabs, dropping empty fields.
    package static func fields(_ line: Substring) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    package func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }

    package func requireNotBlank() throws {
        if isBlank { throw error(.empty, line: 0, "no content") }
    }

    package func uint64(_ field: Substring, line: Int, _ what: String) throws -> UInt64 {
        guard let value = UInt64(field) else {
            throw error(.malformed, line: line, "\(what) is not an unsigned integer: '\(field.prefix(40))'")
        }
        return value
    }

    package func int64(_ field: Substring, line: Int, _ what: String) throws -> Int64 {
        guard let value = Int64(field) else {
            throw error(.malformed, line: line, "\(what) is not an integer: '\(field.prefix(40))'")
        }
        return value
    }

    package func double(_ field: Substring, line: Int, _ what: String) throws -> Double {
        guard let value = Double(field), value.isFinite else {
            throw error(.malformed, line: line, "\(what) is not a number: '\(field.prefix(40))'")
        }
        return value
    }

    /// Parses `key=value` (as in `avg10=0.52`), checking the key.
    package func keyedDouble(_ field: Substring, key: String, line: Int) throws -> Double {
        try double(value(of: field, key: key, line: line), line: line, key)
    }

    package func keyedUInt64(_ field: Substring, key: String, line: Int) throws -> UInt64 {
        try uint64(value(of: field, key: key, line: line), line: line, key)
    }

    private func value(of field: Substring, key: String, line: Int) throws -> Substring {
        guard let equals = field.firstIndex(of: "="), field[..<equals] == key else {
            throw error(.malformed, line: line, "expected '\(key)=', got '\(field.prefix(40))'")
        }
        return field[field.index(after: equals)...]
    }
}
