/// Parses a PSI file, `/proc/pressure/{cpu,memory,io}`:
///
/// ```
/// some avg10=5.52 avg60=20.44 avg300=9.15 total=36264446
/// full avg10=0.00 avg60=0.00 avg300=0.00 total=0
/// ```
public enum PressureParser {
    public static let file = "/proc/pressure/*"

    public static func parse(_ bytes: [UInt8]) throws -> Pressure {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        var some: Pressure.Stall?
        var full: Pressure.Stall?
        for (number, line) in text.numberedLines {
            let fields = ProcText.fields(line)
            guard fields.count >= 5 else {
                throw text.error(.truncated, line: number, "expected kind and 4 values, got \(fields.count) fields")
            }
            let stall = Pressure.Stall(
                avg10: try text.keyedDouble(fields[1], key: "avg10", line: number),
                avg60: try text.keyedDouble(fields[2], key: "avg60", line: number),
                avg300: try text.keyedDouble(fields[3], key: "avg300", line: number),
                totalMicroseconds: try text.keyedUInt64(fields[4], key: "total", line: number)
            )
            switch fields[0] {
            case "some": some = stall
            case "full": full = stall
            default:
                throw text.error(.malformed, line: number, "expected 'some' or 'full', got '\(fields[0].prefix(40))'")
            }
        }
        guard let some else { throw text.error(.truncated, line: 0, "no 'some' line") }
        return Pressure(some: some, full: full)
    }
}
