import MonCore

/// Memory and swap from `meminfo`, in bytes.
///
/// `mon_host_memory_{total,available,used,free,buffers,cached}_bytes`,
/// `mon_host_memory_used_ratio` (used / total, used = total − available),
/// `mon_host_swap_total_bytes`, `mon_host_swap_free_bytes`.
public final class MemoryCollector: Collector {
    public let name = "memory"
    public let procFS: ProcFS
    private let meminfoFile: ProcFile

    public init(procFS: ProcFS = ProcFS()) {
        self.procFS = procFS
        meminfoFile = procFS.file("meminfo")
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let info = try meminfoFile.withBytes { try MemInfoParser.parse($0) }
        var samples: [Sample] = []
        samples.reserveCapacity(9)
        func gauge(_ name: String, _ value: UInt64) {
            samples.append(Sample(name, value: Double(value), timestampMs: timestampMs))
        }
        gauge("mon_host_memory_total_bytes", info.totalBytes)
        gauge("mon_host_memory_available_bytes", info.effectiveAvailableBytes)
        gauge("mon_host_memory_used_bytes", info.usedBytes)
        gauge("mon_host_memory_free_bytes", info.freeBytes)
        gauge("mon_host_memory_buffers_bytes", info.buffersBytes)
        gauge("mon_host_memory_cached_bytes", info.cachedBytes)
        gauge("mon_host_swap_total_bytes", info.swapTotalBytes)
        gauge("mon_host_swap_free_bytes", info.swapFreeBytes)
        if info.totalBytes > 0 {
            samples.append(
                Sample(
                    "mon_host_memory_used_ratio", value: Double(info.usedBytes) / Double(info.totalBytes),
                    timestampMs: timestampMs))
        }
        return samples
    }
}
