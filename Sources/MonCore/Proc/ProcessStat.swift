/// The parts of `/proc/[pid]/stat` the process collector reports; times in clock ticks.
public struct ProcessStat: Sendable, Hashable {
    public var pid: Int32
    /// Executable name, at most 15 bytes (`TASK_COMM_LEN - 1`); may contain spaces and `)`.
    public var comm: String
    /// One letter: R, S, D, Z, T, t, X, I…
    public var state: String
    /// User-mode CPU time, in clock ticks (`ProcFS.clockTicksPerSecond`).
    public var utimeTicks: UInt64
    /// Kernel-mode CPU time, in clock ticks.
    public var stimeTicks: UInt64
    public var threads: Int64
    /// Start time after boot, in clock ticks; with `pid` it identifies a process across pid reuse.
    public var startTimeTicks: UInt64
    /// Resident set size, in pages (`ProcFS.pageSize`); never negative.
    public var rssPages: UInt64

    public init(
        pid: Int32, comm: String, state: String, utimeTicks: UInt64, stimeTicks: UInt64, threads: Int64,
        startTimeTicks: UInt64, rssPages: UInt64
    ) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.utimeTicks = utimeTicks
        self.stimeTicks = stimeTicks
        self.threads = threads
        self.startTimeTicks = startTimeTicks
        self.rssPages = rssPages
    }

    /// utime + stime.
    public var cpuTicks: UInt64 { utimeTicks &+ stimeTicks }
}
