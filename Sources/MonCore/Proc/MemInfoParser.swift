/// Parses `/proc/meminfo` (`MemTotal:       24683656 kB`), converting kB to bytes.
///
/// `MemTotal` and `MemFree` are required; the others default to zero (or nil for
/// `MemAvailable`). Keys this parser does not use are skipped. Parsed on the bytes in place:
/// the memory collector reads it every cycle.
public enum MemInfoParser {
    public static let file = "/proc/meminfo"

    public static func parse(_ bytes: [UInt8]) throws -> MemInfo {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    /// The keys read, in the order of `values` below.
    private static let wanted: [StaticString] = [
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable", "SwapTotal", "SwapFree",
    ]

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> MemInfo {
        if ProcBytes.isBlankText(bytes) { throw error(.empty, line: 0, "no content") }
        var values = ProcNumbers()
        try ProcBytes.forEachLine(bytes) { number, line in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw error(.malformed, line: number, "no ':' in '\(ProcBytes.text(line))'")
            }
            let key = UnsafeBufferPointer(rebasing: line[..<colon])
            guard let slot = wanted.firstIndex(where: { ProcBytes.equals(key, $0) }) else { return }
            var fields = ProcBytes.Fields(UnsafeBufferPointer(rebasing: line[(colon + 1)...]))
            guard let first = fields.next() else {
                throw error(.truncated, line: number, "\(ProcBytes.text(key)) has no value")
            }
            guard let value = ProcBytes.unsignedInteger(first) else {
                throw error(
                    .malformed, line: number,
                    "\(ProcBytes.text(key)) is not an unsigned integer: '\(ProcBytes.text(first))'")
            }
            var multiplier: UInt64 = 1
            if let unit = fields.next() {
                guard ProcBytes.equals(unit, "kB") else {
                    throw error(
                        .malformed, line: number,
                        "unknown unit '\(ProcBytes.text(unit, limit: 10))' for \(ProcBytes.text(key))")
                }
                multiplier = 1024
            }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { throw error(.malformed, line: number, "\(ProcBytes.text(key)) overflows") }
            values[slot] = bytes
        }
        guard let total = values[0] else { throw error(.truncated, line: 0, "no MemTotal") }
        guard let free = values[1] else { throw error(.truncated, line: 0, "no MemFree") }
        return MemInfo(
            totalBytes: total,
            freeBytes: free,
            availableBytes: values[2],
            buffersBytes: values.value(3),
            cachedBytes: values.value(4),
            sReclaimableBytes: values.value(5),
            swapTotalBytes: values.value(6),
            swapFreeBytes: values.value(7)
        )
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
