/// Space on one mounted filesystem, as statvfs reports it, in bytes.
public struct FilesystemUsage: Sendable, Hashable {
    /// Total size (`f_blocks × f_frsize`).
    public var sizeBytes: UInt64
    /// Free blocks, including those reserved for root (`f_bfree`).
    public var freeBytes: UInt64
    /// Free blocks an unprivileged user may use (`f_bavail`).
    public var availableBytes: UInt64

    public init(sizeBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64) {
        self.sizeBytes = sizeBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
    }

    /// `size - free`, as df computes "Used".
    public var usedBytes: UInt64 { sizeBytes >= freeBytes ? sizeBytes - freeBytes : 0 }

    /// `used / (used + avail)`, as df's "Use%"; nil for an empty filesystem.
    public var usedRatio: Double? {
        let denominator = Double(usedBytes) + Double(availableBytes)
        guard denominator > 0 else { return nil }
        return Double(usedBytes) / denominator
    }
}
