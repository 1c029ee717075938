import MonCore

/// The one home of each threshold of the product brief: the default alert rules
/// (`DefaultAlertRules`), the API's flags and the dashboard's colours all read these, so a
/// card never warns at a value the rule ignores.
///
/// `limit` is the rule's threshold (the API flag and the dashboard's warning colour start
/// there); `critical` is the dashboard's second colour only. Values are in the unit the rule
/// compares (percent for ratios, since rules scale ratios by 100).
public struct Threshold: Sendable, Hashable {
    /// The rule fires past this value; API flags and the warning colour use it too.
    public var limit: Double
    /// The value the rule resolves at (hysteresis), if it has one.
    public var resolve: Double?
    /// The dashboard's critical colour.
    public var critical: Double

    public init(limit: Double, resolve: Double? = nil, critical: Double) {
        self.limit = limit
        self.resolve = resolve
        self.critical = critical
    }

    /// `limit` as a ratio (0–1) for thresholds given in percent.
    public var ratio: Double { limit / 100 }
}

/// The thresholds of the shipped rules (see `Threshold`).
public enum Thresholds {
    /// Redis hit rate below 70 % over 15 min: cache ineffective (product brief).
    public static let redisHitPercent = Threshold(limit: 70, resolve: 75, critical: 50)
    /// Redis memory above 80 % of maxmemory: eviction risk.
    public static let redisMemoryPercent = Threshold(limit: 80, resolve: 75, critical: 90)
    /// More than 100 evictions in an hour: TTLs too long.
    public static let redisEvictionsPerHour = Threshold(limit: 100, critical: 1000)
    /// Any connection Redis refused in 5 min (maxclients reached): the application cannot
    /// reach its cache.
    public static let redisRejectedConnections = Threshold(limit: 0, critical: 100)
    /// More than 10 slow statements in an hour: optimisation needed (product brief).
    public static let postgresSlowPerHour = Threshold(limit: 10, critical: 100)
    /// PostgreSQL shared-buffer cache hit ratio below 95 %.
    public static let postgresCacheHitPercent = Threshold(limit: 95, resolve: 96, critical: 90)
    /// PostgreSQL connections above 80 % of max_connections: saturation risk (product brief).
    public static let postgresConnectionsPercent = Threshold(limit: 80, resolve: 75, critical: 90)
    /// A session waiting on a lock for more than a minute.
    public static let postgresLockWaitSeconds = Threshold(limit: 60, critical: 300)
    /// A session idle in transaction for more than 5 minutes.
    public static let postgresIdleInTransactionSeconds = Threshold(limit: 300, critical: 1800)
    /// Host CPU above 80 %.
    public static let hostCPUPercent = Threshold(limit: 80, resolve: 70, critical: 95)
    /// Host memory above 80 %.
    public static let hostMemoryPercent = Threshold(limit: 80, resolve: 75, critical: 95)
    /// A file system more than 90 % full.
    public static let filesystemUsedPercent = Threshold(limit: 90, resolve: 85, critical: 95)
    /// A file system full within 24 hours at its current rate (resolved past 36 h, so a
    /// forecast wavering around a day does not flap).
    public static let filesystemHoursToFull = Threshold(limit: 24, resolve: 36, critical: 4)
    /// API 5xx share above 5 % over 5 min.
    public static let apiErrorPercent = Threshold(limit: 5, resolve: 2, critical: 10)
    /// API P95 above 1 s over 5 min.
    public static let apiLatencyP95Ms = Threshold(limit: 1000, resolve: 800, critical: 2000)
    /// No batch from an agent for more than 3 collection intervals.
    public static let agentSilenceIntervals = Threshold(limit: 3, critical: 10)
    /// Batches committed more than 30 s after collection.
    public static let ingestLagSeconds = Threshold(limit: 30, resolve: 10, critical: 120)

    /// A threshold as YAML text for the default rules: `70`, `0.5`.
    public static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
