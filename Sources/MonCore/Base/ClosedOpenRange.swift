/// `[startMs, endMs)`.
public struct ClosedOpenRange: Sendable, Equatable {
    public var startMs: Int64
    public var endMs: Int64

    public init(_ startMs: Int64, _ endMs: Int64) {
        self.startMs = startMs
        self.endMs = endMs
    }

    /// Sorted, with overlapping and touching ranges joined.
    public static func merged(_ ranges: [ClosedOpenRange]) -> [ClosedOpenRange] {
        var result: [ClosedOpenRange] = []
        for range in ranges.sorted(by: { $0.startMs < $1.startMs }) where range.endMs > range.startMs {
            if let last = result.last, range.startMs <= last.endMs {
                result[result.count - 1].endMs = max(last.endMs, range.endMs)
            } else {
                result.append(range)
            }
        }
        return result
    }

    /// The parts of this range outside `others` (sorted, non-overlapping: `merged`'s output).
    public func subtracting(_ others: [ClosedOpenRange]) -> [ClosedOpenRange] {
        var parts: [ClosedOpenRange] = []
        var from = startMs
        for other in others where other.endMs > from && other.startMs < endMs {
            if other.startMs > from { parts.append(ClosedOpenRange(from, other.startMs)) }
            from = max(from, other.endMs)
        }
        if from < endMs { parts.append(ClosedOpenRange(from, endMs)) }
        return parts
    }

    /// Widened to whole `unitMs` units.
    public func aligned(to unitMs: Int64) -> ClosedOpenRange {
        ClosedOpenRange(Self.floor(startMs, unitMs), Self.floor(endMs + unitMs - 1, unitMs))
    }

    /// Largest multiple of `unit` at or below `value`.
    public static func floor(_ value: Int64, _ unit: Int64) -> Int64 {
        value >= 0 ? value / unit * unit : -((-value + unit - 1) / unit) * unit
    }
}
