/// The parts of `/proc/meminfo` the memory collector reports, in bytes.
public struct MemInfo: Sendable, Hashable {
    public var totalBytes: UInt64
    public var freeBytes: UInt64
    /// `MemAvailable` (Linux ≥ 3.14); nil on older kernels.
    public var availableBytes: UInt64?
    public var buffersBytes: UInt64
    public var cachedBytes: UInt64
    public var sReclaimableBytes: UInt64
    public var swapTotalBytes: UInt64
    public var swapFreeBytes: UInt64

    public init(
        totalBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64?, buffersBytes: UInt64 = 0,
        cachedBytes: UInt64 = 0, sReclaimableBytes: UInt64 = 0, swapTotalBytes: UInt64 = 0, swapFreeBytes: UInt64 = 0
    ) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
        self.buffersBytes = buffersBytes
        self.cachedBytes = cachedBytes
        self.sReclaimableBytes = sReclaimableBytes
        self.swapTotalBytes = swapTotalBytes
        self.swapFreeBytes = swapFreeBytes
    }

    /// `MemAvailable`, or on kernels without it free + buffers + cached + SReclaimable (capped at total).
    public var effectiveAvailableBytes: UInt64 {
        if let availableBytes { return min(availableBytes, totalBytes) }
        let estimate = freeBytes.saturatingAdding(buffersBytes).saturatingAdding(cachedBytes)
            .saturatingAdding(sReclaimableBytes)
        return min(estimate, totalBytes)
    }

    /// total − available.
    public var usedBytes: UInt64 { totalBytes - effectiveAvailableBytes }
}
