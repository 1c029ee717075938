/// A failure connecting to Redis, or Redis input that could not be understood.
///
/// The message names the input at fault (the redacted URL, the INFO line, the
/// SLOWLOG entry, the byte offset in a RESP reply). It never contains a password:
/// URLs are redacted before they are put in a message.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, independent of the input.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case connection
            case authentication
            case rejected
            case invalidURL
            case invalidArgument
            case protocolError
            case malformed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Could not connect, or an I/O error broke the connection (it must be re-established).
        public static let connection = Code(.connection)
        /// The server refused `AUTH`.
        public static let authentication = Code(.authentication)
        /// The server answered a command the client needed (`SELECT`, `INFO`, `SLOWLOG`) with an error.
        public static let rejected = Code(.rejected)
        /// The Redis URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// A caller passed an unusable argument (an empty command, a non-positive timeout).
        public static let invalidArgument = Code(.invalidArgument)
        /// Bytes that are not a complete, well-formed RESP2 reply.
        public static let `protocol` = Code(.protocolError)
        /// A well-formed reply whose content is not what it should be (INFO, SLOWLOG).
        public static let malformed = Code(.malformed)

        public var description: String {
            switch base {
            case .connection: return "connection"
            case .authentication: return "authentication"
            case .rejected: return "rejected"
            case .invalidURL: return "invalid URL"
            case .invalidArgument: return "invalid argument"
            case .protocolError: return "protocol"
            case .malformed: return "malformed"
            }
        }
    }

    public var code: Code
    /// Human message naming the input at fault, e.g. `INFO line 42 'used_memory:12x': used_memory is not an integer`.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "redis \(code) error: \(message)" }
}
