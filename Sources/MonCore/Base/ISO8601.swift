import Foundation

/// A small, allocation-free ISO 8601 / RFC 3339 reader:
/// `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:]MM]`.
public enum ISO8601 {
    public static func parseMs(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                index += 1
            }
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), skip(UInt8(ascii: "-")), let month = digits(2), skip(UInt8(ascii: "-")),
            let day = digits(2), (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        guard skip(UInt8(ascii: "T")) || skip(UInt8(ascii: " ")) || skip(UInt8(ascii: "t")),
            let hour = digits(2), skip(UInt8(ascii: ":")), let minute = digits(2), hour < 24, minute < 60
        else { return nil }
        var second = 0
        var millis = 0
        if skip(UInt8(ascii: ":")) {
            guard let value = digits(2), value <= 60 else { return nil }
            second = value
            if skip(UInt8(ascii: ".")) || skip(UInt8(ascii: ",")) {
                var scale = 100
                var any = false
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                    millis += Int(bytes[index] - UInt8(ascii: "0")) * scale
                    scale /= 10
                    index += 1
                    any = true
                }
                guard any else { return nil }
            }
        }
        var offsetMinutes = 0
        if index < bytes.count {
            if skip(UInt8(ascii: "Z")) || skip(UInt8(ascii: "z")) {
            } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let hours = digits(2), hours <= 14 else { return nil }
                _ = skip(UInt8(ascii: ":"))
                let minutes = digits(2) ?? 0
                guard minutes < 60 else { return nil }
                offsetMinutes = sign * (hours * 60 + minutes)
            } else {
                return nil
            }
            guard index == bytes.count else { return nil }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    package static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    package static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
