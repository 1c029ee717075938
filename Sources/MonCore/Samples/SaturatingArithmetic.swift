extension FixedWidthInteger {
    /// `self + other`, pinned at `Self.max` (or `Self.min`) instead of trapping on overflow:
    /// for totals of counts read from the database or the wire.
    public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, pinned at `Self.max` (or `Self.min`) instead of trapping on overflow:
    /// for differences involving a timestamp or counter read from the wire.
    public func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }
}

extension Int64 {
    /// `self += amount`, saturating (see `saturatingAdding`).
    public mutating func addSaturating(_ amount: Int64) { self = saturatingAdding(amount) }
}

extension UInt64 {
    /// `self += count`, saturating at `Histogram.maxCount` like every histogram count.
    public mutating func addCount(_ count: UInt64) { self = Histogram.addCounts(self, count) }
}
