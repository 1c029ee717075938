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
/// Parsed on the bytes in place (read every cycle).
public enum SockStatParser {
    public static let file = "/proc/net/sockstat"

    public static func parse(_ bytes: [UInt8]) throws -> SockStat {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> SockStat {
        if ProcBytes.isBlankText(bytes) { throw error(.empty, line: 0, "no content") }
        var used: UInt64?
        var tcp: [String: UInt64] = [:]
        var udp: [String: UInt64] = [:]
        try ProcBytes.forEachLine(bytes) { number, line in
            var fields = ProcBytes.Fields(line)
            guard let label = fields.next(), label.last == UInt8(ascii: ":") else {
                throw error(.malformed, line: number, "expected 'NAME:', got '\(ProcBytes.text(line))'")
            }
            let count = ProcBytes.fieldCount(line)
            guard count >= 3, count % 2 == 1 else {
                throw error(.truncated, line: number, "expected key/value pairs after \(ProcBytes.text(label))")
            }
            let isSockets = ProcBytes.equals(label, "sockets:")
            let isTCP = ProcBytes.equals(label, "TCP:")
            let isUDP = ProcBytes.equals(label, "UDP:")
            var usedHere: UInt64?
            var pairs: [String: UInt64] = [:]
            while let key = fields.next(), let valueField = fields.next() {
                guard let value = ProcBytes.unsignedInteger(valueField) else {
                    throw error(
                        .malformed, line: number,
                        "\(ProcBytes.text(label)) \(ProcBytes.text(key)) is not an unsigned integer: '\(ProcBytes.text(valueField))'"
                    )
                }
                if isSockets, ProcBytes.equals(key, "used") { usedHere = value }
                if isTCP || isUDP { pairs[String(decoding: key, as: UTF8.self)] = value }
            }
            if isSockets {
                guard let usedHere else { throw error(.malformed, line: number, "no 'used' value") }
                used = usedHere
            } else if isTCP {
                tcp = pairs
            } else if isUDP {
                udp = pairs
            }
        }
        guard let used else { throw error(.truncated, line: 0, "no 'sockets:' line") }
        return SockStat(socketsUsed: used, tcp: tcp, udp: udp)
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
