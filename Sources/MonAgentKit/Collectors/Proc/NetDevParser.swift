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
public enum NetDevParser {
    public static let file = "/proc/net/dev"

    public static func parse(_ bytes: [UInt8]) throws -> [NetDevStats] {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        var interfaces: [NetDevStats] = []
        for (number, line) in text.numberedLines {
            // A byte search: `contains("|")` with a String argument is Foundation's range(of:) per line.
            if line.utf8.contains(UInt8(ascii: "|")) { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw text.error(.malformed, line: number, "no ':' after the interface name")
            }
            let name = ProcText.fields(line[..<colon])
            guard name.count == 1, let interface = name.first else {
                throw text.error(.malformed, line: number, "bad interface name '\(line[..<colon].prefix(40))'")
            }
            let fields = ProcText.fields(line[line.index(after: colon)...])
            guard fields.count >= 16 else {
                throw text.error(.truncated, line: number, "expected 16 counters for \(interface), got \(fields.count)")
            }
            var values: [UInt64] = []
            for (index, field) in fields.prefix(16).enumerated() {
                values.append(try text.uint64(field, line: number, "counter \(index + 1) of \(interface)"))
            }
            interfaces.append(
                NetDevStats(
                    interface: String(interface),
                    receiveBytes: values[0], receivePackets: values[1], receiveErrors: values[2],
                    receiveDrop: values[3],
                    transmitBytes: values[8], transmitPackets: values[9], transmitErrors: values[10],
                    transmitDrop: values[11]
                )
            )
        }
        return interfaces
    }
}
