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
