import Foundation

/// When a scheduled report is due: `reports.daily` (`07:00`) or `reports.weekly`
/// (`mon 07:00`), a wall-clock time in `reports.timezone`. Occurrences are found with
/// `Calendar` in that zone, so a report stays at 07:00 local time across a DST change: a
/// time the change skips (02:30 on the spring-forward night) is taken at the first instant
/// after the gap, a time it repeats (02:30 on the fall-back night) at its first occurrence.
public struct ReportSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case daily, weekly

        /// The report's period (`ReportBuilder.periods`).
        public var period: String { self == .daily ? "24h" : "7d" }
        public var periodSeconds: Int64 { self == .daily ? 86_400 : 604_800 }
    }

    public var kind: Kind
    public var hour: Int
    public var minute: Int
    /// `Calendar`'s weekday (1 = Sunday … 7 = Saturday); weekly schedules only.
    public var weekday: Int?
    public var timeZone: TimeZone

    /// The weekday names `reports.weekly` accepts, in `Calendar`'s order (1 = Sunday).
    public static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(kind: Kind, hour: Int, minute: Int, weekday: Int? = nil, timeZone: TimeZone) {
        self.kind = kind
        self.hour = hour
        self.minute = minute
        self.weekday = weekday
        self.timeZone = timeZone
    }

    /// `07:00` (daily) or `mon 07:00` (weekly; `monday` too, any case); the reason otherwise.
    public static func parse(_ text: String, kind: Kind, timeZone: TimeZone) -> Result<ReportSchedule, ReportError> {
        let words = text.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true)
        var weekday: Int?
        let time: Substring
        switch (kind, words.count) {
        case (.daily, 1):
            time = words[0]
        case (.weekly, 2):
            let name = words[0].lowercased()
            guard name.count >= 3, let index = weekdayNames.firstIndex(where: { name.hasPrefix($0) }),
                ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"][index].hasPrefix(name)
            else {
                return .failure(
                    ReportError(
                        "schedule",
                        "'\(text.prefix(40))': '\(words[0].prefix(20))' is not a weekday (\(weekdayNames.joined(separator: ", ")))"
                    ))
            }
            weekday = index + 1
            time = words[1]
        default:
            let form = kind == .daily ? "HH:MM, like 07:00" : "a weekday and HH:MM, like mon 07:00"
            return .failure(ReportError("schedule", "'\(text.prefix(40))' is not \(form)"))
        }
        let parts = time.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else {
            return .failure(ReportError("schedule", "'\(time.prefix(20))' is not a time HH:MM (00:00 to 23:59)"))
        }
        return .success(ReportSchedule(kind: kind, hour: hour, minute: minute, weekday: weekday, timeZone: timeZone))
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private var components: DateComponents {
        DateComponents(hour: hour, minute: minute, second: 0, weekday: weekday)
    }

    /// The first occurrence strictly after `ms` (ms since the epoch).
    public func next(afterMs ms: Int64) -> Int64? {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        guard
            let next = calendar.nextDate(
                after: date, matching: components, matchingPolicy: .nextTime, repeatedTimePolicy: .first,
                direction: .forward)
        else { return nil }
        return Int64((next.timeIntervalSince1970 * 1000).rounded())
    }

    /// The latest occurrence at or before `ms`: the report that should exist by then.
    public func latest(atOrBeforeMs ms: Int64) -> Int64? {
        // Walk forward from more than one period back: at most 9 steps (daily), 2 (weekly).
        var cursor = ms - (kind.periodSeconds + 2 * 86_400) * 1000
        var latest: Int64?
        while let next = next(afterMs: cursor), next <= ms {
            latest = next
            cursor = next
        }
        return latest
    }

    /// `mon 07:00 Europe/Paris`, `07:00 UTC`.
    public var description: String {
        let time = String(format: "%02d:%02d", hour, minute)
        return (weekday.map { Self.weekdayNames[$0 - 1] + " " } ?? "") + time + " " + timeZone.identifier
    }

    /// The period's first day in the schedule's zone (`2026-12-05` for the daily report of
    /// 2026-12-06 07:00): the report's date in its subject and file name.
    public func dayText(ms: Int64) -> String {
        let parts = calendar.dateComponents(
            [.year, .month, .day], from: Date(timeIntervalSince1970: Double(ms) / 1000))
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
