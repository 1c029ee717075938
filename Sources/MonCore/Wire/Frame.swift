import NIOCore

/// Message types on the ingest socket (DESIGN §6). The raw value is the byte after the length.
public enum MessageType: UInt8, Sendable {
    case hello = 1
    case welcome = 2
    case batch = 3
    case ack = 4
    case error = 5
}

/// One length-delimited frame: a type byte and its payload.
///
/// The type is kept raw so a frame of an unknown type reaches the handler,
/// which answers with an error frame instead of the decoder failing.
public struct Frame: Sendable, Equatable {
    public var type: UInt8
    public var payload: ByteBuffer
    /// Set when the frame was larger than the connection's limit and the decoder skipped it
    /// (`FrameDecoder(limit:)` after HELLO): the length it announced. `payload` then holds only
    /// its first bytes (`WireLimits.oversizedPrefixBytes` at most), enough to name the batch.
    public var oversizedLength: Int?

    public init(type: UInt8, payload: ByteBuffer, oversizedLength: Int? = nil) {
        self.type = type
        self.payload = payload
        self.oversizedLength = oversizedLength
    }

    public init(_ type: MessageType, payload: ByteBuffer) {
        self.init(type: type.rawValue, payload: payload)
    }
}

/// Wire limits shared by both ends.
public enum WireLimits {
    /// Protocol version spoken by this build. Version 2 adds the agent's collection interval
    /// and version to HELLO (its token field is then always present, empty when none).
    public static let protocolVersion: UInt16 = 2
    /// Versions a daemon of this build accepts: agents of the previous release keep shipping
    /// while they are upgraded (upgrade monquery first, then the agents).
    public static let acceptedProtocolVersions: ClosedRange<UInt16> = 1...2
    /// Default largest frame accepted (type byte + payload), 16 MiB.
    public static let defaultMaxFrameBytes = 16 * 1024 * 1024
    /// Largest frame a connection may send before its HELLO is answered: a HELLO is a few
    /// hundred bytes, so a peer nobody has vouched for yet cannot make the daemon buffer more.
    public static let handshakeMaxFrameBytes = 8 * 1024
    /// How much of a skipped oversized frame is kept (to name and quarantine the batch).
    public static let oversizedPrefixBytes = 64 * 1024
}
