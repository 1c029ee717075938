import MonCore

/// Parses `/proc/diskstats` (Documentation/admin-guide/iostats.rst).
///
/// ```
///  254       0 vda 30300 6370 2591354 11204 13225 29445 2504384 20129 0 9456 33636 ...
/// ```
/// Each line has at least 14 fields (major, minor, name, 11 counters); kernels ≥ 4.18
/// add discard and ≥ 5.5 flush counters, which are ignored. An empty file (no block
/// devices) is legal and gives no devices. Filtering (loop, ram) is the collector's job.
public enum DiskStatsParser {
    public static let file = "/proc/diskstats"
    public static let sectorBytes: UInt64 = 512

    public static func parse(_ bytes: [UInt8]) throws -> [DiskStats] {
        let text = ProcText(bytes, file: file)
        var disks: [DiskStats] = []
        for (number, line) in text.numberedLines {
            let fields = ProcText.fields(line)
            guard fields.count >= 14 else {
                throw text.error(.truncated, line: number, "expected at least 14 fields, got \(fields.count)")
            }
            guard let major = UInt32(fields[0]), let minor = UInt32(fields[1]) else {
                throw text.error(
                    .malformed, line: number, "bad device number '\(fields[0].prefix(20)) \(fields[1].prefix(20))'")
            }
            let sectorsRead = try text.uint64(fields[5], line: number, "sectors read")
            let sectorsWritten = try text.uint64(fields[9], line: number, "sectors written")
            disks.append(
                DiskStats(
                    major: major,
                    minor: minor,
                    device: String(fields[2]),
                    readsCompleted: try text.uint64(fields[3], line: number, "reads completed"),
                    readBytes: sectorsRead.multipliedReportingOverflow(by: sectorBytes).partialValue,
                    writesCompleted: try text.uint64(fields[7], line: number, "writes completed"),
                    writtenBytes: sectorsWritten.multipliedReportingOverflow(by: sectorBytes).partialValue,
                    ioTimeMs: try text.uint64(fields[12], line: number, "io time")
                )
            )
        }
        return disks
    }
}
