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
        let info = try MemInfoParser.parse(meminfoFile.read())
        let values: [(String, UInt64)] = [
            ("mon_host_memory_total_bytes", info.totalBytes),
            ("mon_host_memory_available_bytes", info.effectiveAvailableBytes),
            ("mon_host_memory_used_bytes", info.usedBytes),
            ("mon_host_memory_free_bytes", info.freeBytes),
            ("mon_host_memory_buffers_bytes", info.buffersBytes),
            ("mon_host_memory_cached_bytes", info.cachedBytes),
            ("mon_host_swap_total_bytes", info.swapTotalBytes),
            ("mon_host_swap_free_bytes", info.swapFreeBytes),
        ]
        var samples = values.map { Sample($0.0, value: Double($0.1), timestampMs: timestampMs) }
        if info.totalBytes > 0 {
            samples.append(
                Sample(
                    "mon_host_memory_used_ratio", value: Double(info.usedBytes) / Double(info.totalBytes),
                    timestampMs: timestampMs))
        }
        return samples
    }
}
