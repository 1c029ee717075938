import MonCore

/// Numbers as the dashboard shows them: fixed decimals, units, and "–" for no value.
public enum DashboardFormat {
    /// Shown where a value is missing.
    public static let missing = "–"

    /// `value` with `decimals` digits after the point (`1234.5` → `1234.5`), rounded half
    /// away from zero; "–" when nil or not finite.
    public static func fixed(_ value: Double?, _ decimals: Int = 1) -> String {
        guard let value, value.isFinite else { return missing }
        guard abs(value) < 1e15 else { return value < 0 ? "-∞" : "∞" }
        var scale: Double = 1
        for _ in 0..<max(decimals, 0) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        // Below 1e15 × 10^decimals: exact in UInt64 up to 4 decimals; more falls back to text.
        guard let integer = UInt64(exactly: scaled) else { return "\(value)" }
        let divisor = UInt64(scale)
        var text = String(integer / divisor)
        if decimals > 0 {
            let fraction = String(integer % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return (value < 0 && scaled != 0 ? "-" : "") + text
    }

    /// Fewer decimals as the value grows: `0.123` → `0.12`, `12.34` → `12.3`, `1234.5` → `1235`.
    public static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        let magnitude = abs(value)
        return trimmed(fixed(value, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2))
    }

    /// `87 %`, `98.5 %`.
    public static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        return trimmed(fixed(value, 1)) + " %"
    }

    /// `1.50` → `1.5`, `2.00` → `2`.
    static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var out = text
        while out.hasSuffix("0") { out.removeLast() }
        if out.hasSuffix(".") { out.removeLast() }
        return out == "-0" ? "0" : out
    }

    /// Milliseconds: `0.42 ms`, `45 ms`, `1.25 s`.
    public static func milliseconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        if abs(value) >= 1000 { return fixed(value / 1000, 2) + " s" }
        return number(value) + " ms"
    }

    /// Bytes in binary units: `245 MiB`, `2 GiB`.
    public static func bytes(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        var scaled = value
        for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
            if abs(scaled) < 1024 || unit == "TiB" { return number(scaled) + " " + unit }
            scaled /= 1024
        }
        return missing
    }

    /// A duration in its two largest units: `3 d 4 h`, `2 h 5 min`, `7 min`, `42 s`.
    public static func duration(seconds value: Double?) -> String {
        guard let value, value.isFinite, value >= 0, value < 1e15 else { return missing }
        let seconds = Int64(value)
        let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60)
        if days > 0 { return hours > 0 ? "\(days) d \(hours) h" : "\(days) d" }
        if hours > 0 { return minutes > 0 ? "\(hours) h \(minutes) min" : "\(hours) h" }
        return minutes > 0 ? "\(minutes) min" : "\(seconds) s"
    }

    /// A count: `15`, `1.2k`, `3.4M`.
    public static func count(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        let magnitude = abs(value)
        if magnitude >= 1e6 { return trimmed(fixed(value / 1e6, 1)) + "M" }
        if magnitude >= 1e4 { return trimmed(fixed(value / 1e3, 1)) + "k" }
        return number(value)
    }

    /// An SVG coordinate: at most 2 decimals, trailing zeros dropped, never an exponent.
    public static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return trimmed(fixed(value, 2))
    }

    /// `HH:MM` (UTC) of a timestamp; with the day (`29 18:05`) when `withDay`.
    public static func clock(ms: Int64, withDay: Bool = false, seconds: Bool = false) -> String {
        let totalSeconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let daySeconds = ((totalSeconds % 86_400) + 86_400) % 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = two(daySeconds / 3600) + ":" + two(daySeconds / 60 % 60)
        if seconds { text += ":" + two(daySeconds % 60) }
        if withDay {
            let day = Timestamp.iso8601(ms: ms).dropFirst(8).prefix(2)
            text = "\(day) " + text
        }
        return text
    }
}
