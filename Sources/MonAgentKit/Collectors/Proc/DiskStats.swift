import MonCore

/// One line of `/proc/diskstats`: cumulative I/O of one block device since boot.
public struct DiskStats: Sendable, Hashable {
    public var major: UInt32
    public var minor: UInt32
    public var device: String
    public var readsCompleted: UInt64
    /// Sectors read × 512 (diskstats sectors are always 512 bytes).
    public var readBytes: UInt64
    public var writesCompleted: UInt64
    /// Sectors written × 512.
    public var writtenBytes: UInt64
    /// Milliseconds the device had I/O in flight (field 10, "io_ticks").
    public var ioTimeMs: UInt64

    public init(
        major: UInt32, minor: UInt32, device: String, readsCompleted: UInt64, readBytes: UInt64,
        writesCompleted: UInt64, writtenBytes: UInt64, ioTimeMs: UInt64
    ) {
        self.major = major
        self.minor = minor
        self.device = device
        self.readsCompleted = readsCompleted
        self.readBytes = readBytes
        self.writesCompleted = writesCompleted
        self.writtenBytes = writtenBytes
        self.ioTimeMs = ioTimeMs
    }
}
