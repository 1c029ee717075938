/// A bad query parameter: the API answers 400 with this code and message.
public struct ParameterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var parameter: String
    public var message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }

    public var description: String { "\(parameter): \(message)" }
}

/// Durations written like `30s`, `5m`, `1h`, `24h`, `7d`, `30d`.
public enum DurationText {
    /// Longest accepted duration (400 days, the 1-hour rollup retention).
    public static let maximumSeconds: Int64 = 400 * 86_400

    /// Seconds in `text`, or a `ParameterError` naming `parameter`.
    public static func seconds(_ text: String, parameter: String) throws(ParameterError) -> Int64 {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let multiplier = units[unit], text.count >= 2, text.count <= 8,
            let count = Int64(text.dropLast()), count > 0, !text.hasPrefix("+")
        else {
            throw ParameterError(parameter, "'\(text.prefix(40))' is not a duration like 30s, 5m, 1h, 24h, 7d")
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: multiplier)
        guard !overflow, total <= maximumSeconds else {
            throw ParameterError(parameter, "'\(text)' is longer than the maximum of 400d")
        }
        return total
    }

    /// `3600` → `1h`, `90` → `90s`.
    public static func format(seconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}

/// The window and resolution of a chart: `period` back from now, in `step` buckets.
public struct TimeRange: Sendable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public var periodSeconds: Int64
    public var stepSeconds: Int64

    /// Most points a series may have; a smaller step is refused.
    public static let maximumPoints: Int64 = 2000
    static let niceSteps: [Int64] = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400]

    /// From the `period` and `step` query parameters (period default `1h`, step chosen for ~60 points).
    public init(period: String?, step: String?, nowMs: Int64) throws(ParameterError) {
        periodSeconds = try DurationText.seconds(period ?? "1h", parameter: "period")
        if let step {
            stepSeconds = try DurationText.seconds(step, parameter: "step")
            guard stepSeconds <= periodSeconds else {
                throw ParameterError("step", "'\(step)' is longer than the period")
            }
            guard periodSeconds / stepSeconds <= Self.maximumPoints else {
                throw ParameterError("step", "'\(step)' gives more than \(Self.maximumPoints) points for this period")
            }
        } else {
            let wanted = max(5, periodSeconds / 60)
            stepSeconds = min(periodSeconds, Self.niceSteps.first { $0 >= wanted } ?? 86_400)
        }
        endMs = nowMs
        startMs = nowMs - periodSeconds * 1000
    }
}

/// ISO 8601 UTC timestamps (`2026-11-29T05:00:00Z`, milliseconds when not whole).
public enum Timestamp {
    public static func iso8601(ms: Int64) -> String {
        let day = DayPartition(timestampMs: ms)
        let (y, mo, d) = day.date
        let inDay = ms - day.day * DayPartition.millisecondsPerDay
        let seconds = inDay / 1000
        let millis = inDay % 1000
        var text = "\(y.padded4)-\((mo).padded2)-\((d).padded2)T"
        text += "\((seconds / 3600).padded2):\((seconds / 60 % 60).padded2):\((seconds % 60).padded2)"
        if millis != 0 {
            let m = "\(millis)"
            text += "." + String(repeating: "0", count: 3 - m.count) + m
        }
        return text + "Z"
    }
}
