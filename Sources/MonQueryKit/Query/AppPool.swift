import MonCore

/// The application's database connection pool, from the StatsD gauges it sends
/// (`db.pool.size`, `db.pool.checked_out`, `db.pool.overflow`, stored with the agent's
/// `statsd.prefix`, `app_` by default). A `pool` tag names one pool among several.
///
/// A gauge is whatever the application last sent: a figure that cannot be a pool's
/// (negative, beyond `maximum`) is shown as such, not as a count; SQLAlchemy's `overflow()`
/// is negative until the pool has opened `pool_size` connections, so a negative overflow
/// means none and reads 0.
public struct AppPool: Sendable, Equatable {
    /// The gauges' names as StatsD lines carry them, and as stored (`app_` + name, `.` → `_`).
    public static let gauges = (size: "db.pool.size", checkedOut: "db.pool.checked_out", overflow: "db.pool.overflow")
    public static let metrics = (
        size: "app_db_pool_size", checkedOut: "app_db_pool_checked_out", overflow: "app_db_pool_overflow"
    )
    /// The largest figure taken as a pool's (connections).
    public static let maximum = 1_000_000.0

    public var size: Double?
    public var checkedOut: Double?
    public var overflow: Double?
    /// Why a sent figure is not shown (`db.pool.size -5 is not a pool figure …`).
    public var problems: [String]

    /// Checked-out connections over the pool's size, in percent (over 100 with overflow in use).
    public var usagePercent: Double? {
        guard let size, let checkedOut, size > 0 else { return nil }
        return checkedOut / size * 100
    }

    public init(size: Double?, checkedOut: Double?, overflow: Double?) {
        var problems: [String] = []
        func checked(_ value: Double?, _ name: String, negativeIsZero: Bool = false) -> Double? {
            guard let value else { return nil }
            if negativeIsZero, value < 0, value >= -Self.maximum { return 0 }
            guard value.isFinite, value >= 0, value <= Self.maximum else {
                problems.append(
                    "\(name) \(PrometheusText.format(value)) is not a pool figure (0 to \(PrometheusText.format(Self.maximum)))"
                )
                return nil
            }
            return value
        }
        self.size = checked(size, Self.gauges.size)
        self.checkedOut = checked(checkedOut, Self.gauges.checkedOut)
        self.overflow = checked(overflow, Self.gauges.overflow, negativeIsZero: true)
        self.problems = problems
    }
}
