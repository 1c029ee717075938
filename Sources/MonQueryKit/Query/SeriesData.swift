import MonCore

/// One series over a time range: latest value, average, and bucketed points.
public struct SeriesData: Sendable {
    public var seriesID: Int64
    public var host: String
    public var name: String
    public var labels: [String: String]
    /// Latest raw sample within the range.
    public var latestMs: Int64?
    public var latest: Double?
    /// Mean of every raw sample in the range (exact: sum / count, not a mean of means).
    public var average: Double?
    /// Bucket start (ms) and mean value, oldest first.
    public var points: [(ms: Int64, value: Double)]
}

extension Array where Element == SeriesData {
    /// The series of `name` for `host` whose labels include `match`.
    public func first(_ name: String, host: String, _ match: [String: String] = [:]) -> SeriesData? {
        first { series in
            series.name == name && series.host == host && match.allSatisfy { series.labels[$0.key] == $0.value }
        }
    }

    /// All series of `name` for `host`.
    public func all(_ name: String, host: String) -> [SeriesData] {
        filter { $0.name == name && $0.host == host }
    }

    /// Hosts present, sorted.
    public var hosts: [String] { Set(map(\.host)).sorted() }
}
