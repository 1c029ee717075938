/// A UTC day, the unit of partitioning and retention.
public struct DayPartition: Sendable, Hashable, Comparable {
    public static let millisecondsPerDay: Int64 = 86_400_000

    /// Days since 1970-01-01.
    public var day: Int64

    public init(day: Int64) { self.day = day }

    public init(timestampMs: Int64) {
        day = timestampMs >= 0 ? timestampMs / Self.millisecondsPerDay : (timestampMs + 1) / Self.millisecondsPerDay - 1
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.day < rhs.day }

    /// The civil date (proleptic Gregorian), Howard Hinnant's `civil_from_days`.
    public var date: (year: Int64, month: Int64, day: Int64) {
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// `20261129`.
    public var compact: String {
        let (y, m, d) = date
        return y.padded4 + (m).padded2 + (d).padded2
    }

    /// `2026-11-29 00:00:00+00`, a timestamptz literal for the start of the day.
    public var startLiteral: String {
        let (y, m, d) = date
        return "\(y.padded4)-\((m).padded2)-\((d).padded2) 00:00:00+00"
    }

    /// Name of this day's partition of `table` (`metrics_p20261129`).
    public func partitionName(of table: String) -> String { "\(table)_p\(compact)" }

    public func adding(days: Int64) -> DayPartition { DayPartition(day: day + days) }

    /// First millisecond of the day.
    public var startMs: Int64 { day * Self.millisecondsPerDay }
}

extension Int64 {
    /// Zero-padded to two digits (`05`).
    var padded2: String { self < 10 && self >= 0 ? "0\(self)" : "\(self)" }
    /// Zero-padded to four digits (`0042`).
    var padded4: String {
        let text = "\(self)"
        return String(repeating: "0", count: Swift.max(0, 4 - text.count)) + text
    }
}
