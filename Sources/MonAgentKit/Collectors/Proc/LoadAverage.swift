import MonCore

/// `/proc/loadavg`: run-queue averages and task counts.
public struct LoadAverage: Sendable, Hashable {
    public var load1: Double
    public var load5: Double
    public var load15: Double
    /// Runnable tasks now (the `4` of `4/89`), when present.
    public var runnable: UInt64?
    /// All tasks now (the `89` of `4/89`), when present.
    public var tasks: UInt64?

    public init(load1: Double, load5: Double, load15: Double, runnable: UInt64? = nil, tasks: UInt64? = nil) {
        self.load1 = load1
        self.load5 = load5
        self.load15 = load15
        self.runnable = runnable
        self.tasks = tasks
    }
}
