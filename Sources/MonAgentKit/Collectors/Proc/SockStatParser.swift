import MonCore

/// Parses `/proc/net/sockstat`:
///
/// ```
/// sockets: used 21
/// TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 269
/// UDP: inuse 0 mem 0
/// ```
/// The `sockets:` line is required; `TCP:` and `UDP:` are read when present, other
/// protocols are skipped. Every line is `NAME:` followed by key/value pairs.
public enum SockStatParser {
    public static let file = "/proc/net/sockstat"

    public static func parse(_ bytes: [UInt8]) throws -> SockStat {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        var used: UInt64?
        var tcp: [String: UInt64] = [:]
        var udp: [String: UInt64] = [:]
        for (number, line) in text.numberedLines {
            let fields = ProcText.fields(line)
            guard let label = fields.first, label.hasSuffix(":") else {
                throw text.error(.malformed, line: number, "expected 'NAME:', got '\(line.prefix(40))'")
            }
            guard fields.count >= 3, fields.count % 2 == 1 else {
                throw text.error(.truncated, line: number, "expected key/value pairs after \(label)")
            }
            var pairs: [String: UInt64] = [:]
            for index in stride(from: 1, to: fields.count - 1, by: 2) {
                let key = String(fields[index])
                pairs[key] = try text.uint64(fields[index + 1], line: number, "\(label) \(key)")
            }
            switch label {
            case "sockets:":
                guard let value = pairs["used"] else { throw text.error(.malformed, line: number, "no 'used' value") }
                used = value
            case "TCP:": tcp = pairs
            case "UDP:": udp = pairs
            default: continue
            }
        }
        guard let used else { throw text.error(.truncated, line: 0, "no 'sockets:' line") }
        return SockStat(socketsUsed: used, tcp: tcp, udp: udp)
    }
}
