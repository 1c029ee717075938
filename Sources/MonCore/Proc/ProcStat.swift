/// The parts of `/proc/stat` the CPU collector reports, times in seconds.
public struct ProcStat: Sendable, Hashable {
    /// Time one CPU (or all together) spent in each mode since boot, in seconds.
    public struct CPUTimes: Sendable, Hashable {
        public var user: Double
        public var nice: Double
        public var system: Double
        public var idle: Double
        public var iowait: Double
        public var irq: Double
        public var softirq: Double
        public var steal: Double

        public init(
            user: Double = 0, nice: Double = 0, system: Double = 0, idle: Double = 0,
            iowait: Double = 0, irq: Double = 0, softirq: Double = 0, steal: Double = 0
        ) {
            self.user = user
            self.nice = nice
            self.system = system
            self.idle = idle
            self.iowait = iowait
            self.irq = irq
            self.softirq = softirq
            self.steal = steal
        }

        /// Mode names in /proc/stat order, as used in the `mode` label.
        public static let modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]

        /// Values in the order of `modes`.
        public var values: [Double] { [user, nice, system, idle, iowait, irq, softirq, steal] }

        /// Sum of all modes (guest time is already included in user and nice).
        public var total: Double { values.reduce(0, +) }

        /// Time doing nothing: idle plus waiting for I/O.
        public var idleTotal: Double { idle + iowait }
    }

    /// The aggregate `cpu` line.
    public var total: CPUTimes
    /// The `cpuN` lines by N; offline CPUs are absent.
    public var perCPU: [Int: CPUTimes]
    /// `ctxt`: context switches since boot.
    public var contextSwitches: UInt64?
    /// `btime`: boot time, seconds since the epoch.
    public var bootTime: UInt64?
    /// `processes`: forks since boot.
    public var processesCreated: UInt64?
    /// `procs_running`: runnable tasks now.
    public var processesRunning: UInt64?
    /// `procs_blocked`: tasks blocked on I/O now.
    public var processesBlocked: UInt64?

    public init(
        total: CPUTimes, perCPU: [Int: CPUTimes] = [:], contextSwitches: UInt64? = nil, bootTime: UInt64? = nil,
        processesCreated: UInt64? = nil, processesRunning: UInt64? = nil, processesBlocked: UInt64? = nil
    ) {
        self.total = total
        self.perCPU = perCPU
        self.contextSwitches = contextSwitches
        self.bootTime = bootTime
        self.processesCreated = processesCreated
        self.processesRunning = processesRunning
        self.processesBlocked = processesBlocked
    }
}
