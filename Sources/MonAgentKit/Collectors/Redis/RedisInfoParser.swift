import MonCore

/// Parses the reply to `INFO`: `# Section` headers and `key:value` lines, CRLF or LF.
///
/// Unknown keys are kept in `RedisInfo.sections`. Keys the typed accessors read must hold
/// numbers, and keyspace, commandstats and errorstats lines must have their fields; a
/// violation is a `RedisError` with code `.malformed` naming the line.
public enum RedisInfoParser {
    /// Keys whose value must be a (possibly negative) integer.
    static let integerKeys: Set<String> = [
        "uptime_in_seconds", "connected_clients", "blocked_clients", "used_memory", "used_memory_peak",
        "maxmemory", "keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys",
        "instantaneous_ops_per_sec", "total_commands_processed", "master_repl_offset",
        "rdb_changes_since_last_save",
    ]
    /// Keys whose value must be a finite decimal number.
    static let decimalKeys: Set<String> = ["mem_fragmentation_ratio"]
    /// Keys whose value must be `0` or `1`.
    static let flagKeys: Set<String> = ["aof_enabled"]

    /// What `check` requires of a key's value.
    private enum Requirement { case integer, decimal, flag }
    private static let requirements: [String: Requirement] = {
        var all: [String: Requirement] = [:]
        for key in integerKeys { all[key] = .integer }
        for key in decimalKeys { all[key] = .decimal }
        for key in flagKeys { all[key] = .flag }
        return all
    }()

    /// Parses the bulk-string reply of `INFO`; an error reply is `.rejected`, another kind `.malformed`.
    public static func parse(_ reply: RedisReply) throws(RedisError) -> RedisInfo {
        switch reply {
        case .string(let bytes):
            return try parse(bytes: bytes)
        case .error(let message):
            throw RedisError(code: .rejected, message: "INFO failed: \(message)")
        default:
            throw RedisError(code: .malformed, message: "INFO replied with \(reply.kind), expected a bulk string")
        }
    }

    public static func parse(_ text: String) throws(RedisError) -> RedisInfo {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses the text of an `INFO` reply on its bytes (no String per line): lines end at
    /// LF, CR, CRLF, VT or FF (the ASCII newlines); invalid UTF-8 in a key or value is
    /// replaced as `String(decoding:as:)` replaces it.
    static func parse(bytes: [UInt8]) throws(RedisError) -> RedisInfo {
        try bytes.withUnsafeBufferPointer { buffer throws(RedisError) in try parse(buffer) }
    }

    private static func parse(_ text: UnsafeBufferPointer<UInt8>) throws(RedisError) -> RedisInfo {
        var info = RedisInfo()
        var section = ""
        var sawField = false
        var number = 0
        var start = 0
        while start <= text.count {
            number += 1
            var end = start
            while end < text.count, !isNewline(text[end]) { end += 1 }
            let line = UnsafeBufferPointer(rebasing: text[start..<end])
            // "\r\n" ends one line, as the Character "\r\n" does.
            start =
                end
                + (end + 1 < text.count && text[end] == UInt8(ascii: "\r") && text[end + 1] == UInt8(ascii: "\n")
                    ? 2 : 1)
            if line.allSatisfy(isWhitespace) { continue }
            if line[0] == UInt8(ascii: "#") {
                var name = line[1...]
                while let first = name.first, isWhitespace(first) { name = name.dropFirst() }
                while let last = name.last, isWhitespace(last) { name = name.dropLast() }
                section = String(decoding: name, as: UTF8.self).lowercased()
                if info.sections[section] == nil { info.sections[section] = [:] }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon != 0 else {
                throw error(number, line, "expected key:value or # Section")
            }
            let keyBytes = UnsafeBufferPointer(rebasing: line[..<colon])
            let valueBytes = UnsafeBufferPointer(rebasing: line[(colon + 1)...])
            let key = String(decoding: keyBytes, as: UTF8.self)
            let value = String(decoding: valueBytes, as: UTF8.self)
            try check(key, value, line: number, line)
            if let index = databaseIndex(keyBytes) {
                let fields = try Subfields(valueBytes, line: number, line)
                info.keyspace[index] = RedisInfo.Keyspace(
                    keys: try fields.value("keys", line: number, line),
                    expires: try fields.value("expires", default: 0, line: number, line),
                    averageTTLMillis: try fields.value("avg_ttl", default: 0, line: number, line)
                )
            } else if keyBytes.count > 8, hasPrefix(keyBytes, "cmdstat_") {
                let fields = try Subfields(valueBytes, line: number, line)
                info.commandStats[String(decoding: keyBytes[8...], as: UTF8.self)] = RedisInfo.CommandStats(
                    calls: try fields.value("calls", line: number, line),
                    usec: try fields.value("usec", line: number, line),
                    rejectedCalls: try fields.value("rejected_calls", default: 0, line: number, line),
                    failedCalls: try fields.value("failed_calls", default: 0, line: number, line)
                )
            } else if keyBytes.count > 10, hasPrefix(keyBytes, "errorstat_") {
                let fields = try Subfields(valueBytes, line: number, line)
                info.errorCounts[String(decoding: keyBytes[10...], as: UTF8.self)] = try fields.value(
                    "count", line: number, line)
            }
            info.sections[section, default: [:]][key] = value
            sawField = true
        }
        guard sawField else {
            throw RedisError(code: .malformed, message: "INFO reply has no key:value line (\(text.count) bytes)")
        }
        return info
    }

    private static func check(_ key: String, _ value: String, line: Int, _ text: UnsafeBufferPointer<UInt8>)
        throws(RedisError)
    {
        switch requirements[key] {
        case .integer?:
            if Int64(value) == nil { throw error(line, text, "\(key) is not an integer") }
        case .decimal?:
            if !(Double(value)?.isFinite ?? false) { throw error(line, text, "\(key) is not a finite number") }
        case .flag?:
            if value != "0", value != "1" { throw error(line, text, "\(key) is not 0 or 1") }
        case nil:
            break
        }
    }

    @inline(__always)
    private static func isNewline(_ byte: UInt8) -> Bool { byte >= 0x0A && byte <= 0x0D }

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool { (byte >= 0x09 && byte <= 0x0D) || byte == 0x20 }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        bytes.count >= prefix.utf8CodeUnitCount
            && ProcBytes.equals(UnsafeBufferPointer(rebasing: bytes[..<prefix.utf8CodeUnitCount]), prefix)
    }

    /// `db<digits>` → the index (nil for another key, or a number beyond `Int`).
    private static func databaseIndex(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard key.count > 2, hasPrefix(key, "db"), key[2] != UInt8(ascii: "+"),
            let index = ProcBytes.unsignedInteger(UnsafeBufferPointer(rebasing: key[2...]))
        else { return nil }
        return Int(exactly: index)
    }

    /// `keys=3,expires=1,avg_ttl=12345` as name=value byte ranges, in order; a later
    /// duplicate name wins, as it did in a dictionary.
    private struct Subfields {
        var pairs: [(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>)] = []

        init(_ value: UnsafeBufferPointer<UInt8>, line: Int, _ text: UnsafeBufferPointer<UInt8>) throws(RedisError) {
            var start = 0
            while start < value.count {
                var end = start
                while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
                if end > start {
                    let pair = UnsafeBufferPointer(rebasing: value[start..<end])
                    guard let equals = pair.firstIndex(of: UInt8(ascii: "=")), equals != 0 else {
                        throw RedisInfoParser.error(line, text, "expected name=value fields separated by ','")
                    }
                    pairs.append(
                        (
                            UnsafeBufferPointer(rebasing: pair[..<equals]),
                            UnsafeBufferPointer(rebasing: pair[(equals + 1)...])
                        ))
                }
                start = end + 1
            }
        }

        func value(
            _ name: StaticString, default fallback: Int64? = nil, line: Int, _ text: UnsafeBufferPointer<UInt8>
        ) throws(RedisError) -> Int64 {
            guard let raw = pairs.last(where: { ProcBytes.equals($0.name, name) })?.value else {
                guard let fallback else { throw RedisInfoParser.error(line, text, "missing \(name)=") }
                return fallback
            }
            guard let value = ProcBytes.signedInteger(raw) else {
                throw RedisInfoParser.error(line, text, "\(name) is not an integer")
            }
            return value
        }
    }

    private static func error(_ line: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ reason: String) -> RedisError {
        let text = String(decoding: bytes, as: UTF8.self)
        let shown = text.count > 80 ? text.prefix(80) + "..." : text
        return RedisError(code: .malformed, message: "INFO line \(line) '\(shown)': \(reason)")
    }
}
