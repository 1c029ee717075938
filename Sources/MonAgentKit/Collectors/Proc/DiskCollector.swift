import MonCore

/// Block device I/O from `diskstats`.
///
/// Counters `mon_host_disk_{read_bytes,written_bytes,reads_completed,writes_completed,io_time_seconds}_total{device}`;
/// from the second cycle on, gauges `mon_host_disk_read_bytes_per_second`,
/// `mon_host_disk_write_bytes_per_second`, `mon_host_disk_iops` (reads + writes per second)
/// and `mon_host_disk_utilization_ratio` (Δio_time / Δwall, clamped to 0...1).
public final class DiskCollector: Collector {
    public let name = "disk"
    public let procFS: ProcFS
    /// Devices named `<prefix><digit>…` are skipped (default loop, ram, zram: no real I/O).
    public let ignoredDevicePrefixes: [String]

    private var rates = CounterRates()
    private let diskstatsFile: ProcFile
    private let ignoredPrefixBytes: [[UInt8]]

    public static let defaultIgnoredDevicePrefixes = ["loop", "ram", "zram"]

    public init(procFS: ProcFS = ProcFS(), ignoredDevicePrefixes: [String] = DiskCollector.defaultIgnoredDevicePrefixes)
    {
        self.procFS = procFS
        self.ignoredDevicePrefixes = ignoredDevicePrefixes
        ignoredPrefixBytes = ignoredDevicePrefixes.map { Array($0.utf8) }
        diskstatsFile = procFS.file("diskstats")
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        var disks: [DiskStats] = []
        try diskstatsFile.withBytes { bytes in
            try DiskStatsParser.forEach(bytes, skipping: isIgnored) { disks.append($0) }
        }
        var samples: [Sample] = []
        samples.reserveCapacity(disks.count * 9)
        for disk in disks {
            let labels: Labels = ["device": disk.device]
            let ioSeconds = Double(disk.ioTimeMs) / 1000
            let counters: [(String, Double)] = [
                ("mon_host_disk_read_bytes_total", Double(disk.readBytes)),
                ("mon_host_disk_written_bytes_total", Double(disk.writtenBytes)),
                ("mon_host_disk_reads_completed_total", Double(disk.readsCompleted)),
                ("mon_host_disk_writes_completed_total", Double(disk.writesCompleted)),
                ("mon_host_disk_io_time_seconds_total", ioSeconds),
            ]
            for (metric, value) in counters {
                samples.append(Sample(metric, labels, value: value, kind: .counter, timestampMs: timestampMs))
            }

            let key = disk.device + "|"
            let readRate = rates.rate(key + "read", value: Double(disk.readBytes), timestampMs: timestampMs)
            let writeRate = rates.rate(key + "write", value: Double(disk.writtenBytes), timestampMs: timestampMs)
            let readOps = rates.rate(key + "reads", value: Double(disk.readsCompleted), timestampMs: timestampMs)
            let writeOps = rates.rate(key + "writes", value: Double(disk.writesCompleted), timestampMs: timestampMs)
            let busy = rates.rate(key + "io", value: ioSeconds, timestampMs: timestampMs)
            if let readRate {
                samples.append(
                    Sample("mon_host_disk_read_bytes_per_second", labels, value: readRate, timestampMs: timestampMs))
            }
            if let writeRate {
                samples.append(
                    Sample("mon_host_disk_write_bytes_per_second", labels, value: writeRate, timestampMs: timestampMs))
            }
            if let readOps, let writeOps {
                samples.append(
                    Sample("mon_host_disk_iops", labels, value: readOps + writeOps, timestampMs: timestampMs))
            }
            if let busy {
                samples.append(
                    Sample(
                        "mon_host_disk_utilization_ratio", labels, value: min(1, max(0, busy)),
                        timestampMs: timestampMs))
            }
        }
        rates.endCycle()
        return samples
    }

    /// True for `loop0`, `ram12`, `zram0p1` (a listed prefix followed by a digit).
    public func isIgnored(_ device: String) -> Bool {
        var name = device
        return name.withUTF8 { isIgnored($0) }
    }

    /// `isIgnored` on the name's bytes (no String per device line).
    func isIgnored(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        ignoredPrefixBytes.contains { prefix in
            name.count > prefix.count && name.starts(with: prefix) && isDigit(name[prefix.count])
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
