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

    /// Parses the bulk-string reply of `INFO`; an error reply is `.rejected`, another kind `.malformed`.
    public static func parse(_ reply: RedisReply) throws(RedisError) -> RedisInfo {
        switch reply {
        case .string(let bytes):
            return try parse(String(decoding: bytes, as: UTF8.self))
        case .error(let message):
            throw RedisError(code: .rejected, message: "INFO failed: \(message)")
        default:
            throw RedisError(code: .malformed, message: "INFO replied with \(reply.kind), expected a bulk string")
        }
    }

    public static func parse(_ text: String) throws(RedisError) -> RedisInfo {
        var info = RedisInfo()
        var section = ""
        var sawField = false
        var number = 0
        // "\r\n" is one Character, so CRLF and LF both end a line here.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            if line.hasPrefix("#") {
                section = line.dropFirst().trimmingSpaces().lowercased()
                if info.sections[section] == nil { info.sections[section] = [:] }
                continue
            }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw error(number, line, "expected key:value or # Section")
            }
            let key = String(line[..<colon])
            let value = String(line[line.index(after: colon)...])
            try check(key, value, line: number, line)
            if key.hasPrefix("db"), let index = Int(key.dropFirst(2)),
                key.dropFirst(2).allSatisfy({ $0.isASCII && $0.isNumber })
            {
                let fields = try subfields(value, line: number, line)
                info.keyspace[index] = RedisInfo.Keyspace(
                    keys: try field("keys", in: fields, line: number, line),
                    expires: try field("expires", in: fields, default: 0, line: number, line),
                    averageTTLMillis: try field("avg_ttl", in: fields, default: 0, line: number, line)
                )
            } else if key.hasPrefix("cmdstat_"), key.count > 8 {
                let fields = try subfields(value, line: number, line)
                info.commandStats[String(key.dropFirst(8))] = RedisInfo.CommandStats(
                    calls: try field("calls", in: fields, line: number, line),
                    usec: try field("usec", in: fields, line: number, line),
                    rejectedCalls: try field("rejected_calls", in: fields, default: 0, line: number, line),
                    failedCalls: try field("failed_calls", in: fields, default: 0, line: number, line)
                )
            } else if key.hasPrefix("errorstat_"), key.count > 10 {
                let fields = try subfields(value, line: number, line)
                info.errorCounts[String(key.dropFirst(10))] = try field("count", in: fields, line: number, line)
            }
            info.sections[section, default: [:]][key] = value
            sawField = true
        }
        guard sawField else {
            throw RedisError(code: .malformed, message: "INFO reply has no key:value line (\(text.utf8.count) bytes)")
        }
        return info
    }

    private static func check(_ key: String, _ value: String, line: Int, _ text: Substring) throws(RedisError) {
        if integerKeys.contains(key), Int64(value) == nil {
            throw error(line, text, "\(key) is not an integer")
        }
        if decimalKeys.contains(key), !(Double(value)?.isFinite ?? false) {
            throw error(line, text, "\(key) is not a finite number")
        }
        if flagKeys.contains(key), value != "0", value != "1" {
            throw error(line, text, "\(key) is not 0 or 1")
        }
    }

    /// `keys=3,expires=1,avg_ttl=12345` → ["keys": "3", ...].
    private static func subfields(_ value: String, line: Int, _ text: Substring) throws(RedisError) -> [Substring:
        Substring]
    {
        var fields: [Substring: Substring] = [:]
        for pair in value.split(separator: ",") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw error(line, text, "expected name=value fields separated by ','")
            }
            fields[pair[..<equals]] = pair[pair.index(after: equals)...]
        }
        return fields
    }

    private static func field(
        _ name: Substring,
        in fields: [Substring: Substring],
        default fallback: Int64? = nil,
        line: Int,
        _ text: Substring
    ) throws(RedisError) -> Int64 {
        guard let raw = fields[name] else {
            guard let fallback else { throw error(line, text, "missing \(name)=") }
            return fallback
        }
        guard let value = Int64(raw) else { throw error(line, text, "\(name) is not an integer") }
        return value
    }

    private static func error(_ line: Int, _ text: Substring, _ reason: String) -> RedisError {
        let shown = text.count > 80 ? text.prefix(80) + "..." : text
        return RedisError(code: .malformed, message: "INFO line \(line) '\(shown)': \(reason)")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
