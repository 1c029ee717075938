/// One RESP2 reply, as returned by `RedisConnection` or `RESPParser`.
public enum RedisReply: Sendable, Hashable {
    /// `+OK`: a simple status line.
    case status(String)
    /// `-ERR ...`: the server refused the command; the text includes the error prefix (`ERR`, `WRONGTYPE`).
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5 hello`: a bulk string, binary-safe.
    case string([UInt8])
    /// `$-1` or `*-1`: no value.
    case null
    /// `*2 ...`: a (possibly nested) array.
    case array([RedisReply])

    /// The text of a bulk string that is valid UTF-8, or of a status line; nil otherwise.
    public var text: String? {
        switch self {
        case .status(let text):
            return text
        case .string(let bytes):
            let text = String(decoding: bytes, as: UTF8.self)
            return text.utf8.elementsEqual(bytes) ? text : nil
        case .error, .integer, .null, .array:
            return nil
        }
    }

    /// A bulk string from UTF-8 text.
    public static func string(_ text: String) -> RedisReply { .string(Array(text.utf8)) }

    /// What kind of reply this is, for error messages: `status`, `bulk string`, `array of 3`.
    public var kind: String {
        switch self {
        case .status: return "status"
        case .error: return "error"
        case .integer: return "integer"
        case .string(let bytes): return "bulk string of \(bytes.count) bytes"
        case .null: return "null"
        case .array(let elements): return "array of \(elements.count)"
        }
    }
}
