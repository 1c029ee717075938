import MonCore

/// Parses `/proc/net/dev`:
///
/// ```
/// Inter-|   Receive                                                |  Transmit
///  face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop ...
///   eth0: 48274307    1439    0    0    0     0          0         0    56261     707    0 ...
/// ```
/// Header lines (those with `|`) are skipped; each interface line has the name, a
/// colon (possibly with no space after it) and 16 counters. A file with only the
/// headers is legal; an empty one is not (the kernel always prints the headers).
/// Parsed on the bytes in place (read every cycle).
public enum NetDevParser {
    public static let file = "/proc/net/dev"

    public static func parse(_ bytes: [UInt8]) throws -> [NetDevStats] {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [NetDevStats] {
        if ProcBytes.isBlankText(bytes) { throw error(.empty, line: 0, "no content") }
        var interfaces: [NetDevStats] = []
        try ProcBytes.forEachLine(bytes) { number, line in
            if line.contains(UInt8(ascii: "|")) { return }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw error(.malformed, line: number, "no ':' after the interface name")
            }
            let before = UnsafeBufferPointer(rebasing: line[..<colon])
            var names = ProcBytes.Fields(before)
            guard let name = names.next(), names.next() == nil else {
                throw error(.malformed, line: number, "bad interface name '\(ProcBytes.text(before))'")
            }
            let after = UnsafeBufferPointer(rebasing: line[(colon + 1)...])
            let count = ProcBytes.fieldCount(after)
            guard count >= 16 else {
                let interface = ProcBytes.text(name)
                throw error(.truncated, line: number, "expected 16 counters for \(interface), got \(count)")
            }
            var fields = ProcBytes.Fields(after)
            var values = ProcNumbers()
            for index in 0..<16 {
                guard let field = fields.next(), let value = ProcBytes.unsignedInteger(field) else {
                    let interface = ProcBytes.text(name)
                    throw error(
                        .malformed, line: number, "counter \(index + 1) of \(interface) is not an unsigned integer")
                }
                values[index] = value
            }
            interfaces.append(
                NetDevStats(
                    interface: String(decoding: name, as: UTF8.self),
                    receiveBytes: values.value(0), receivePackets: values.value(1), receiveErrors: values.value(2),
                    receiveDrop: values.value(3), transmitBytes: values.value(8), transmitPackets: values.value(9),
                    transmitErrors: values.value(10), transmitDrop: values.value(11)
                )
            )
        }
        return interfaces
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
