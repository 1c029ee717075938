import MonCore

/// Parses `/proc/diskstats` (Documentation/admin-guide/iostats.rst).
///
/// ```
///  254       0 vda 30300 6370 2591354 11204 13225 29445 2504384 20129 0 9456 33636 ...
/// ```
/// Each line has at least 14 fields (major, minor, name, 11 counters); kernels ≥ 4.18
/// add discard and ≥ 5.5 flush counters, which are ignored. An empty file (no block
/// devices) is legal and gives no devices. Filtering (loop, ram) is the collector's job.
/// Parsed on the bytes in place (read every cycle).
public enum DiskStatsParser {
    public static let file = "/proc/diskstats"
    public static let sectorBytes: UInt64 = 512

    public static func parse(_ bytes: [UInt8]) throws -> [DiskStats] {
        var disks: [DiskStats] = []
        try bytes.withUnsafeBufferPointer { buffer in
            try forEach(buffer) { disks.append($0) }
        }
        return disks
    }

    /// Calls `body` with each device in file order; `skipping` is asked first with the name bytes,
    /// and a device it returns true for is checked (14 fields, numbers) but not built.
    package static func forEach(
        _ bytes: UnsafeBufferPointer<UInt8>, skipping: (UnsafeBufferPointer<UInt8>) -> Bool = { _ in false },
        _ body: (DiskStats) throws -> Void
    ) throws {
        try ProcBytes.forEachLine(bytes) { number, line in
            let count = ProcBytes.fieldCount(line)
            guard count >= 14 else {
                throw error(.truncated, line: number, "expected at least 14 fields, got \(count)")
            }
            var fields = ProcBytes.Fields(line)
            guard let majorField = fields.next(), let minorField = fields.next(), let name = fields.next() else {
                throw error(.truncated, line: number, "expected at least 14 fields")
            }
            guard let major = UInt32(exactly: ProcBytes.unsignedInteger(majorField) ?? UInt64.max),
                let minor = UInt32(exactly: ProcBytes.unsignedInteger(minorField) ?? UInt64.max)
            else {
                throw error(
                    .malformed, line: number,
                    "bad device number '\(ProcBytes.text(majorField, limit: 20)) \(ProcBytes.text(minorField, limit: 20))'"
                )
            }
            // Fields 3…13 of the line are counters 0…10; the ones used: 0, 2, 4, 6, 9.
            var counters = (reads: UInt64(0), sectorsRead: UInt64(0), writes: UInt64(0), sectorsWritten: UInt64(0))
            var ioTime: UInt64 = 0
            for index in 0...9 {
                guard let field = fields.next() else { break }
                let what: StaticString
                switch index {
                case 0: what = "reads completed"
                case 2: what = "sectors read"
                case 4: what = "writes completed"
                case 6: what = "sectors written"
                case 9: what = "io time"
                default: continue
                }
                guard let value = ProcBytes.unsignedInteger(field) else {
                    throw error(
                        .malformed, line: number, "\(what) is not an unsigned integer: '\(ProcBytes.text(field))'")
                }
                switch index {
                case 0: counters.reads = value
                case 2: counters.sectorsRead = value
                case 4: counters.writes = value
                case 6: counters.sectorsWritten = value
                default: ioTime = value
                }
            }
            if skipping(name) { return }
            try body(
                DiskStats(
                    major: major,
                    minor: minor,
                    device: String(decoding: name, as: UTF8.self),
                    readsCompleted: counters.reads,
                    readBytes: counters.sectorsRead.multipliedReportingOverflow(by: sectorBytes).partialValue,
                    writesCompleted: counters.writes,
                    writtenBytes: counters.sectorsWritten.multipliedReportingOverflow(by: sectorBytes).partialValue,
                    ioTimeMs: ioTime
                ))
        }
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
