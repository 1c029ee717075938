/// Parses `/proc/meminfo` (`MemTotal:       24683656 kB`), converting kB to bytes.
///
/// `MemTotal` and `MemFree` are required; the others default to zero (or nil for
/// `MemAvailable`). Keys this parser does not use are skipped.
public enum MemInfoParser {
    public static let file = "/proc/meminfo"

    public static func parse(_ bytes: [UInt8]) throws -> MemInfo {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        var values: [Substring: UInt64] = [:]
        for (number, line) in text.numberedLines {
            guard let colon = line.firstIndex(of: ":") else {
                throw text.error(.malformed, line: number, "no ':' in '\(line.prefix(40))'")
            }
            let key = line[..<colon]
            guard wanted.contains(key) else { continue }
            let fields = ProcText.fields(line[line.index(after: colon)...])
            guard let first = fields.first else { throw text.error(.truncated, line: number, "\(key) has no value") }
            let value = try text.uint64(first, line: number, String(key))
            var multiplier: UInt64 = 1
            if fields.count >= 2 {
                guard fields[1] == "kB" else {
                    throw text.error(.malformed, line: number, "unknown unit '\(fields[1].prefix(10))' for \(key)")
                }
                multiplier = 1024
            }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { throw text.error(.malformed, line: number, "\(key) overflows") }
            values[key] = bytes
        }
        guard let total = values["MemTotal"] else { throw text.error(.truncated, line: 0, "no MemTotal") }
        guard let free = values["MemFree"] else { throw text.error(.truncated, line: 0, "no MemFree") }
        return MemInfo(
            totalBytes: total,
            freeBytes: free,
            availableBytes: values["MemAvailable"],
            buffersBytes: values["Buffers"] ?? 0,
            cachedBytes: values["Cached"] ?? 0,
            sReclaimableBytes: values["SReclaimable"] ?? 0,
            swapTotalBytes: values["SwapTotal"] ?? 0,
            swapFreeBytes: values["SwapFree"] ?? 0
        )
    }

    private static let wanted: Set<Substring> = [
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable", "SwapTotal", "SwapFree",
    ]
}
