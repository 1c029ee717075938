import MonCore

/// Instants written in query parameters (`from`, `to`): RFC 3339 with an offset or `Z`
/// (`2026-12-04T02:10:00Z`, `2026-12-04T03:10:00.250+01:00`), or epoch seconds, possibly
/// fractional (`1796350200`, `1796350200.25`). Milliseconds are kept, finer digits dropped.
///
/// Refused, naming the parameter: anything else (exponents, `nan`, `inf`, signs, spaces
/// around the text, a date that does not exist such as month 13 or 30 February, an hour of 24),
/// and instants before 1970 or from 2100 on. A leap second (second 60 of a UTC minute's last
/// second, `23:59:60Z` or `05:29:60+05:30`) is the first instant of the next minute, as POSIX
/// time counts it. An offset's `+`
/// that arrived as a space (an unencoded `+` in a query string is a space) is read as `+`.
public enum InstantText {
    /// 2100-01-01T00:00:00Z: no instant at or after it is accepted.
    public static let endMs: Int64 = 4_102_444_800_000

    /// Milliseconds since the epoch of `text`, or a `ParameterError` naming `parameter`.
    public static func milliseconds(_ text: String, parameter: String) throws(ParameterError) -> Int64 {
        let shown = "'\(text.prefix(40))'"
        guard !text.isEmpty, text.utf8.count <= 40 else {
            throw ParameterError(parameter, "\(shown) is not an RFC 3339 time or epoch seconds")
        }
        let bytes = Array(text.utf8)
        let ms: Int64?
        if bytes.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") }) {
            ms = epoch(bytes)
        } else {
            ms = rfc3339(bytes)
        }
        guard let ms else {
            throw ParameterError(
                parameter,
                "\(shown) is not an RFC 3339 time (2026-12-04T02:10:00Z, 2026-12-04T03:10:00+01:00) "
                    + "or epoch seconds (1796350200, 1796350200.5)")
        }
        guard ms >= 0, ms < endMs else {
            throw ParameterError(parameter, "\(shown) is not between 1970-01-01 and 2100-01-01")
        }
        return ms
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// Milliseconds per fraction digit (the first three count).
    private static let scale: [Int64] = [100, 10, 1]

    /// `digits(.digits)?`: at most 12 integer digits (no overflow, the range check refuses
    /// what is past 2100), at most 9 fraction digits.
    private static func epoch(_ bytes: [UInt8]) -> Int64? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 12, parts.count <= 2 else { return nil }
        var seconds: Int64 = 0
        for byte in whole { seconds = seconds * 10 + Int64(byte - 48) }
        var millis: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9 else { return nil }
            for (index, byte) in fraction.prefix(3).enumerated() {
                millis += Int64(byte - 48) * scale[index]
            }
        }
        return seconds * 1000 + millis
    }

    /// `YYYY-MM-DDTHH:MM:SS(.fraction)?(Z|±HH:MM)`; `t`/`z` in lower case and a space for
    /// `T` are accepted (RFC 3339 §5.6).
    private static func rfc3339(_ bytes: [UInt8]) -> Int64? {
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + count] {
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ allowed: String) -> Bool {
            guard index < bytes.count, allowed.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        var millis: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            let digits = bytes[start..<index]
            guard !digits.isEmpty, digits.count <= 9 else { return nil }
            for (offset, byte) in digits.prefix(3).enumerated() { millis += Int64(byte - 48) * scale[offset] }
        }
        guard index < bytes.count else { return nil }
        var offsetMinutes: Int64 = 0
        if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
        } else {
            let sign: Int64
            switch bytes[index] {
            case UInt8(ascii: "+"), UInt8(ascii: " "): sign = 1
            case UInt8(ascii: "-"): sign = -1
            default: return nil
            }
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMins = number(2), offsetHours <= 23,
                offsetMins <= 59
            else { return nil }
            offsetMinutes = sign * (offsetHours * 60 + offsetMins)
        }
        guard index == bytes.count else { return nil }
        // A leap second ends a UTC minute: local minute 29 with an offset of +05:30.
        let utcMinute = ((hour * 60 + minute - offsetMinutes) % 60 + 60) % 60
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59,
            second <= 59 || (second == 60 && utcMinute == 59)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1000 + millis
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
