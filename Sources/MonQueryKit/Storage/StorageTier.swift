/// The storage tier a chart reads: raw samples, or 1-minute, 1-hour or 6-hour rollups.
public enum StorageTier: String, Sendable {
    case raw
    case minute = "1m"
    case hour = "1h"
    case sixHours = "6h"

    /// The rollup tiers, finest first (the order a rollup pass fills them).
    public static let rollups: [StorageTier] = [.minute, .hour, .sixHours]

    /// Length of one unit (0 for raw rows).
    public var unitMs: Int64 {
        switch self {
        case .raw: 0
        case .minute: 60_000
        case .hour: 3_600_000
        case .sixHours: 21_600_000
        }
    }

    /// One unit as an SQL interval literal.
    var interval: String {
        switch self {
        case .raw: "0 seconds"
        case .minute: "1 minute"
        case .hour: "1 hour"
        case .sixHours: "6 hours"
        }
    }

    /// SQL for the start of the unit holding the `timestamptz` expression `ts`, in UTC
    /// (six-hour units start at 00, 06, 12 and 18 UTC, as the charts' 6-hour buckets do).
    func unitStart(_ ts: String) -> String {
        switch self {
        case .raw: ts
        case .minute: "date_trunc('minute', \(ts), 'UTC')"
        case .hour: "date_trunc('hour', \(ts), 'UTC')"
        case .sixHours: "date_bin('6 hours', \(ts), timestamptz '1970-01-01 00:00:00+00')"
        }
    }

    /// SQL for the end of the unit holding the end-stamped `ts` (histogram windows are
    /// stamped with their end: a window ending on a unit boundary belongs to the unit before).
    func unitEnd(_ ts: String) -> String {
        "\(unitStart("\(ts) - interval '1 microsecond'")) + interval '\(interval)'"
    }

    /// The tier a unit of this one is recomputed from (its rows are whole units of it; raw
    /// rows for minutes and for raw itself).
    var finer: StorageTier {
        switch self {
        case .raw, .minute: .raw
        case .hour: .minute
        case .sixHours: .hour
        }
    }

    /// This tier's table of `base` (`metrics` or `histograms`): `metrics` for raw rows,
    /// `metrics_1h` for the hour tier.
    func table(_ base: String) -> String { self == .raw ? base : "\(base)_\(rawValue)" }

    /// The coarsest tier, up to `coarsest`, whose unit divides `stepSeconds` (raw when none).
    static func serving(stepSeconds: Int64, coarsest: StorageTier) -> StorageTier {
        let stepMs = stepSeconds * 1000
        return rollups.last { $0.unitMs <= coarsest.unitMs && stepMs >= $0.unitMs && stepMs % $0.unitMs == 0 } ?? .raw
    }
}
