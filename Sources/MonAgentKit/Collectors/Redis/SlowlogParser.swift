import MonCore

/// Parses the reply to `SLOWLOG GET n`.
///
/// Each entry is `[id, unix time, duration µs, [arguments...], client address, client name]`
/// (Redis 4.0 and later) or just the first four (older servers); both are accepted, and
/// elements after the sixth are ignored. A malformed entry throws a `RedisError` with code
/// `.malformed` naming the entry: the caller decides whether to skip the whole reply.
public enum SlowlogParser {
    public static func parse(_ reply: RedisReply) throws(RedisError) -> [SlowlogEntry] {
        let entries: [RedisReply]
        switch reply {
        case .array(let elements):
            entries = elements
        case .error(let message):
            throw RedisError(code: .rejected, message: "SLOWLOG GET failed: \(message)")
        default:
            throw RedisError(code: .malformed, message: "SLOWLOG GET replied with \(reply.kind), expected an array")
        }
        var parsed: [SlowlogEntry] = []
        parsed.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            parsed.append(try parseEntry(entry, index: index))
        }
        return parsed
    }

    private static func parseEntry(_ entry: RedisReply, index: Int) throws(RedisError) -> SlowlogEntry {
        guard case .array(let fields) = entry else {
            throw malformed(index, "is \(entry.kind), expected an array")
        }
        guard fields.count >= 4 else {
            throw malformed(index, "has \(fields.count) elements, expected at least 4")
        }
        guard case .array(let argumentReplies) = fields[3] else {
            throw malformed(index, "arguments (element 4) is \(fields[3].kind), expected an array")
        }
        var arguments: [String] = []
        arguments.reserveCapacity(argumentReplies.count)
        for (position, argument) in argumentReplies.enumerated() {
            switch argument {
            case .string(let bytes):
                arguments.append(String(decoding: bytes, as: UTF8.self))
            case .status(let text):
                arguments.append(text)
            default:
                throw malformed(index, "argument \(position + 1) is \(argument.kind), expected a bulk string")
            }
        }
        let clientAddress = try fields.count > 4 ? text(fields[4], "client address (element 5)", index) : ""
        let clientName = try fields.count > 5 ? text(fields[5], "client name (element 6)", index) : ""
        return SlowlogEntry(
            id: try integer(fields[0], "id (element 1)", index),
            timestamp: try integer(fields[1], "timestamp (element 2)", index),
            durationMicros: try integer(fields[2], "duration (element 3)", index),
            arguments: arguments,
            clientAddress: clientAddress,
            clientName: clientName
        )
    }

    private static func integer(_ reply: RedisReply, _ what: String, _ index: Int) throws(RedisError) -> Int64 {
        guard case .integer(let value) = reply else {
            throw malformed(index, "\(what) is \(reply.kind), expected an integer")
        }
        guard value >= 0 else { throw malformed(index, "\(what) is negative (\(value))") }
        return value
    }

    private static func text(_ reply: RedisReply, _ what: String, _ index: Int) throws(RedisError) -> String {
        switch reply {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: throw malformed(index, "\(what) is \(reply.kind), expected a bulk string")
        }
    }

    private static func malformed(_ index: Int, _ reason: String) -> RedisError {
        RedisError(code: .malformed, message: "SLOWLOG GET entry \(index + 1) \(reason)")
    }
}
