/// Array literals for bound parameters (`$1::text[]`), quoted element by element.
public enum PostgresArray {
    /// `["a", "b\"c"]` → `{"a","b\"c"}`.
    public static func text(_ values: [String]) -> String {
        "{"
            + values.map { value in
                var quoted = "\""
                for scalar in value.unicodeScalars {
                    if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
                    quoted.unicodeScalars.append(scalar)
                }
                return quoted + "\""
            }.joined(separator: ",") + "}"
    }

    /// `[1, 2]` → `{1,2}`.
    public static func integers(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// `{1,-2,3}` → `[1, -2, 3]` (the text form of an integer array; anything else is skipped).
    public static func parseIntegers(_ text: String) -> [Int64] {
        var text = text
        return text.withUTF8 { parseIntegers(UnsafeRawBufferPointer($0)) }
    }

    /// `parseIntegers` over the text's bytes (libpq's buffer), with no `String` in between.
    public static func parseIntegers(_ bytes: UnsafeRawBufferPointer) -> [Int64] {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "{"), bytes[bytes.count - 1] == UInt8(ascii: "}") else {
            return []
        }
        var values: [Int64] = []
        values.reserveCapacity(bytes.count / 3)
        var start = 1
        let end = bytes.count - 1
        while start < end {
            var stop = start
            while stop < end && bytes[stop] != UInt8(ascii: ",") { stop += 1 }
            if let value = parseInteger(UnsafeRawBufferPointer(rebasing: bytes[start..<stop])) { values.append(value) }
            start = stop + 1
        }
        return values
    }

    /// An optional sign and decimal digits, as `Int64(text)` reads them: nil for anything
    /// else, an empty text or a value out of range.
    public static func parseInteger(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count else { return nil }
        // Accumulated as a negative number: Int64.min has no positive counterpart.
        var value: Int64 = 0
        while index < bytes.count {
            let digit = Int64(bytes[index]) - 48
            guard (0...9).contains(digit) else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }
}
