import MonCore

/// A pure RESP2 parser: bytes captured from a Redis socket to a `RedisReply`.
///
/// Used for fixtures and fuzzing; the live client decodes with hiredis. Defensive like
/// a NIO frame decoder: a length is checked against the bytes actually present before
/// anything is allocated, nesting is bounded, and every failure is a
/// `RedisError` with code `.protocol` naming the byte offset.
public enum RESPParser {
    /// Arrays nested deeper than this are refused.
    public static let maxDepth = 32
    /// The largest bulk string accepted (Redis' own `proto-max-bulk-len` default, 512 MiB).
    public static let maxBulkLength = 512 * 1024 * 1024

    /// Parses exactly one reply; trailing bytes are an error.
    public static func parse(_ bytes: [UInt8]) throws(RedisError) -> RedisReply {
        var reader = Reader(bytes: bytes)
        let reply = try reader.reply(depth: 0)
        guard reader.offset == bytes.count else {
            throw reader.malformed("\(bytes.count - reader.offset) trailing bytes after a complete reply")
        }
        return reply
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func reply(depth: Int) throws(RedisError) -> RedisReply {
            guard offset < bytes.count else { throw truncated("expected a reply type byte") }
            let start = offset
            let type = bytes[offset]
            offset += 1
            switch type {
            case UInt8(ascii: "+"):
                return .status(String(decoding: try line(), as: UTF8.self))
            case UInt8(ascii: "-"):
                return .error(String(decoding: try line(), as: UTF8.self))
            case UInt8(ascii: ":"):
                return .integer(try integer(try line(), at: start))
            case UInt8(ascii: "$"):
                let length = try integer(try line(), at: start)
                if length == -1 { return .null }
                guard length >= 0, length <= RESPParser.maxBulkLength else {
                    throw malformed("bulk string length \(length) at byte \(start) is out of range")
                }
                let count = Int(length)
                let available = bytes.count - offset
                guard available >= count + 2 else {
                    throw truncated(
                        "bulk string at byte \(start) announces \(count) bytes, \(max(0, available - 2)) present")
                }
                let body = Array(bytes[offset..<(offset + count)])
                offset += count
                guard bytes[offset] == 13, bytes[offset + 1] == 10 else {
                    throw malformed("bulk string at byte \(start) is not followed by CRLF")
                }
                offset += 2
                return .string(body)
            case UInt8(ascii: "*"):
                let count = try integer(try line(), at: start)
                if count == -1 { return .null }
                guard count >= 0 else { throw malformed("array length \(count) at byte \(start) is negative") }
                guard depth < RESPParser.maxDepth else {
                    throw malformed("arrays nested deeper than \(RESPParser.maxDepth) at byte \(start)")
                }
                // Every element takes at least 3 bytes (`+\r\n`): refuse before reserving anything.
                guard count <= (bytes.count - offset) / 3 else {
                    throw truncated("array at byte \(start) announces \(count) elements, the input is too short")
                }
                var elements: [RedisReply] = []
                elements.reserveCapacity(Int(count))
                for _ in 0..<count {
                    elements.append(try reply(depth: depth + 1))
                }
                return .array(elements)
            default:
                throw malformed("unknown reply type byte 0x\(String(type, radix: 16)) at byte \(start)")
            }
        }

        /// The bytes up to the next CRLF, which is consumed; a bare CR or LF is an error.
        mutating func line() throws(RedisError) -> ArraySlice<UInt8> {
            let start = offset
            var index = offset
            while index < bytes.count {
                switch bytes[index] {
                case 13:
                    guard index + 1 < bytes.count else { throw truncated("line at byte \(start) ends after CR") }
                    guard bytes[index + 1] == 10 else {
                        throw malformed("CR without LF in the line at byte \(start)")
                    }
                    offset = index + 2
                    return bytes[start..<index]
                case 10:
                    throw malformed("LF without CR in the line at byte \(start)")
                default:
                    index += 1
                }
            }
            throw truncated("line at byte \(start) has no CRLF")
        }

        func integer(_ digits: ArraySlice<UInt8>, at start: Int) throws(RedisError) -> Int64 {
            var rest = digits
            let negative = rest.first == UInt8(ascii: "-")
            if negative { rest = rest.dropFirst() }
            guard !rest.isEmpty, rest.count <= 19, rest.allSatisfy({ (48...57).contains($0) }),
                let magnitude = Int64(String(decoding: rest, as: UTF8.self))
            else {
                let shown = String(decoding: digits.prefix(24), as: UTF8.self)
                throw malformed("'\(shown)' at byte \(start) is not a 64-bit integer")
            }
            return negative ? -magnitude : magnitude
        }

        func truncated(_ reason: String) -> RedisError {
            RedisError(code: .protocol, message: "RESP reply of \(bytes.count) bytes is truncated: \(reason)")
        }

        func malformed(_ reason: String) -> RedisError {
            RedisError(code: .protocol, message: "RESP reply of \(bytes.count) bytes is malformed: \(reason)")
        }
    }
}
