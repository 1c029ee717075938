/// Parses a PSI file, `/proc/pressure/{cpu,memory,io}`:
///
/// ```
/// some avg10=5.52 avg60=20.44 avg300=9.15 total=36264446
/// full avg10=0.00 avg60=0.00 avg300=0.00 total=0
/// ```
/// Parsed on the bytes in place: the CPU collector reads the three files every cycle.
public enum PressureParser {
    public static let file = "/proc/pressure/*"

    public static func parse(_ bytes: [UInt8]) throws -> Pressure {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> Pressure {
        if ProcBytes.isBlankText(bytes) { throw error(.empty, line: 0, "no content") }
        var some: Pressure.Stall?
        var full: Pressure.Stall?
        try ProcBytes.forEachLine(bytes) { number, line in
            let count = ProcBytes.fieldCount(line)
            guard count >= 5 else {
                throw error(.truncated, line: number, "expected kind and 4 values, got \(count) fields")
            }
            var fields = ProcBytes.Fields(line)
            guard let kind = fields.next(), let avg10 = fields.next(), let avg60 = fields.next(),
                let avg300 = fields.next(), let total = fields.next()
            else { throw error(.truncated, line: number, "expected kind and 4 values") }
            let stall = Pressure.Stall(
                avg10: try double(avg10, key: "avg10", line: number),
                avg60: try double(avg60, key: "avg60", line: number),
                avg300: try double(avg300, key: "avg300", line: number),
                totalMicroseconds: try unsigned(total, key: "total", line: number)
            )
            if ProcBytes.equals(kind, "some") {
                some = stall
            } else if ProcBytes.equals(kind, "full") {
                full = stall
            } else {
                throw error(.malformed, line: number, "expected 'some' or 'full', got '\(ProcBytes.text(kind))'")
            }
        }
        guard let some else { throw error(.truncated, line: 0, "no 'some' line") }
        return Pressure(some: some, full: full)
    }

    /// The value of `key=value`, checking the key.
    private static func value(
        _ field: UnsafeBufferPointer<UInt8>, key: StaticString, line: Int
    ) throws -> UnsafeBufferPointer<UInt8> {
        guard let equals = field.firstIndex(of: UInt8(ascii: "=")),
            ProcBytes.equals(UnsafeBufferPointer(rebasing: field[..<equals]), key)
        else { throw error(.malformed, line: line, "expected '\(key)=', got '\(ProcBytes.text(field))'") }
        return UnsafeBufferPointer(rebasing: field[(equals + 1)...])
    }

    private static func double(_ field: UnsafeBufferPointer<UInt8>, key: StaticString, line: Int) throws -> Double {
        let text = try value(field, key: key, line: line)
        guard let number = ProcBytes.finiteDouble(text) else {
            throw error(.malformed, line: line, "\(key) is not a number: '\(ProcBytes.text(text))'")
        }
        return number
    }

    private static func unsigned(_ field: UnsafeBufferPointer<UInt8>, key: StaticString, line: Int) throws -> UInt64 {
        let text = try value(field, key: key, line: line)
        guard let number = ProcBytes.unsignedInteger(text) else {
            throw error(.malformed, line: line, "\(key) is not an unsigned integer: '\(ProcBytes.text(text))'")
        }
        return number
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
