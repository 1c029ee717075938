/// One `/proc/pressure/{cpu,memory,io}` file (PSI).
public struct Pressure: Sendable, Hashable {
    /// The resources PSI reports, as the `resource` label of `mon_host_pressure_*`.
    public static let resources = ["cpu", "memory", "io"]

    /// One line: share of wall time some (or all) tasks were stalled.
    public struct Stall: Sendable, Hashable {
        /// Percent (0–100) over the last 10 s, 60 s, 300 s.
        public var avg10: Double
        public var avg60: Double
        public var avg300: Double
        /// Total stall time since boot, µs.
        public var totalMicroseconds: UInt64

        public init(avg10: Double, avg60: Double, avg300: Double, totalMicroseconds: UInt64) {
            self.avg10 = avg10
            self.avg60 = avg60
            self.avg300 = avg300
            self.totalMicroseconds = totalMicroseconds
        }
    }

    /// At least one task stalled.
    public var some: Stall
    /// All non-idle tasks stalled; absent for cpu before Linux 5.13.
    public var full: Stall?

    public init(some: Stall, full: Stall? = nil) {
        self.some = some
        self.full = full
    }
}
