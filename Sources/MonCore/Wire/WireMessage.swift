import NIOCore

/// A protocol message, decoded from or encoded into a `Frame`.
public enum WireMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    case batch(Batch)
    case ack(seq: UInt64)
    case error(WireError)

    /// The agent introduces itself.
    public struct Hello: Sendable, Equatable {
        public var protocolVersion: UInt16
        public var agentID: String
        public var host: String
        /// Random per agent process start; `(agentID, bootID, seq)` identifies a batch.
        public var bootID: String
        /// Ingest token of a remote agent (TCP + TLS); an optional trailing field, absent on
        /// the Unix socket, where the kernel vouches for the peer.
        public var token: String?
        /// The agent's collection interval in milliseconds (version 2; nil when not sent or 0).
        public var intervalMs: UInt32?
        /// The agent's release (version 2; nil when not sent or empty).
        public var agentVersion: String?

        public init(
            protocolVersion: UInt16 = WireLimits.protocolVersion, agentID: String, host: String, bootID: String,
            token: String? = nil, intervalMs: UInt32? = nil, agentVersion: String? = nil
        ) {
            self.protocolVersion = protocolVersion
            self.agentID = agentID
            self.host = host
            self.bootID = bootID
            self.token = token
            self.intervalMs = intervalMs
            self.agentVersion = agentVersion
        }
    }

    /// The daemon accepts and says which sequence number it already stored for this boot.
    public struct Welcome: Sendable, Equatable {
        public var protocolVersion: UInt16
        /// Highest seq stored for (agent, boot); 0 when none.
        public var lastAckedSeq: UInt64

        public init(protocolVersion: UInt16 = WireLimits.protocolVersion, lastAckedSeq: UInt64) {
            self.protocolVersion = protocolVersion
            self.lastAckedSeq = lastAckedSeq
        }
    }
}

/// An error frame: a stable code and a message for the peer's log.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt16, Sendable {
        case malformed = 1
        case unknownType = 2
        case unsupportedVersion = 3
        case unexpectedMessage = 4
        case storageUnavailable = 5
        case forbidden = 6
    }

    public var code: UInt16
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code.rawValue
        self.message = message
    }

    public init(rawCode: UInt16, message: String) {
        self.code = rawCode
        self.message = message
    }

    public var description: String {
        let name = Code(rawValue: code).map { "\($0)" } ?? "code \(code)"
        return "\(name): \(message)"
    }
}

extension WireMessage {
    /// Largest string accepted in any field (names, labels, ids).
    static let maxStringBytes = 64 * 1024

    /// Encodes the message into a frame.
    public func frame(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> Frame {
        var out = allocator.buffer(capacity: 64)
        switch self {
        case .hello(let hello):
            out.writeInteger(hello.protocolVersion)
            out.writeWireString(hello.agentID)
            out.writeWireString(hello.host)
            out.writeWireString(hello.bootID)
            if hello.protocolVersion >= 2 {
                out.writeWireString(hello.token ?? "")
                out.writeInteger(hello.intervalMs ?? 0)
                out.writeWireString(hello.agentVersion ?? "")
            } else if let token = hello.token {
                out.writeWireString(token)
            }
            return Frame(.hello, payload: out)
        case .welcome(let welcome):
            out.writeInteger(welcome.protocolVersion)
            out.writeInteger(welcome.lastAckedSeq)
            return Frame(.welcome, payload: out)
        case .batch(let batch):
            BatchCodec.encode(batch, into: &out)
            return Frame(.batch, payload: out)
        case .ack(let seq):
            out.writeInteger(seq)
            return Frame(.ack, payload: out)
        case .error(let error):
            out.writeInteger(error.code)
            out.writeWireString(error.message)
            return Frame(.error, payload: out)
        }
    }

    /// Decodes a frame. Throws `WireError` naming what is wrong; never traps on bad bytes.
    public init(frame: Frame) throws(WireError) {
        guard let type = MessageType(rawValue: frame.type) else {
            throw WireError(.unknownType, "unknown message type \(frame.type)")
        }
        var payload = frame.payload
        switch type {
        case .hello:
            let version = try payload.readWireInteger(UInt16.self, "hello.protocol_version")
            let agentID = try payload.readWireString("hello.agent_id")
            let host = try payload.readWireString("hello.host")
            let bootID = try payload.readWireString("hello.boot_id")
            var hello = Hello(protocolVersion: version, agentID: agentID, host: host, bootID: bootID)
            if version >= 2 {
                let token = try payload.readWireString("hello.token")
                let interval = try payload.readWireInteger(UInt32.self, "hello.interval_ms")
                let agentVersion = try payload.readWireString("hello.agent_version")
                hello.token = token.isEmpty ? nil : token
                hello.intervalMs = interval == 0 ? nil : interval
                hello.agentVersion = agentVersion.isEmpty ? nil : agentVersion
            } else if payload.readableBytes > 0 {
                hello.token = try payload.readWireString("hello.token")
            }
            self = .hello(hello)
        case .welcome:
            let version = try payload.readWireInteger(UInt16.self, "welcome.protocol_version")
            let seq = try payload.readWireInteger(UInt64.self, "welcome.last_acked_seq")
            self = .welcome(Welcome(protocolVersion: version, lastAckedSeq: seq))
        case .batch:
            self = .batch(try BatchCodec.decode(&payload))
        case .ack:
            self = .ack(seq: try payload.readWireInteger(UInt64.self, "ack.seq"))
        case .error:
            let code = try payload.readWireInteger(UInt16.self, "error.code")
            let message = try payload.readWireString("error.message")
            self = .error(WireError(rawCode: code, message: message))
        }
        if type != .batch, payload.readableBytes > 0 {
            throw WireError(.malformed, "\(type) message has \(payload.readableBytes) trailing bytes")
        }
    }
}

extension ByteBuffer {
    mutating func writeWireString(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        let written = writeString(string)
        setInteger(UInt32(written), at: lengthIndex)
    }

    /// `field` names the value in the error; built only when there is one (a batch reads
    /// several strings and integers per sample, and most of them never fail).
    mutating func readWireString(
        _ field: @autoclosure () -> String,
        maxBytes: Int = WireMessage.maxStringBytes
    ) throws(WireError) -> String {
        guard let length = readInteger(as: UInt32.self) else {
            throw WireError(.malformed, "\(field()): truncated before the string length")
        }
        guard length <= maxBytes else {
            throw WireError(.malformed, "\(field()): string of \(length) bytes exceeds \(maxBytes)")
        }
        guard let bytes = readSlice(length: Int(length)) else {
            throw WireError(.malformed, "\(field()): string of \(length) bytes truncated at \(readableBytes)")
        }
        guard let string = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw WireError(.malformed, "\(field()): not valid UTF-8")
        }
        return string
    }

    mutating func readWireInteger<T: FixedWidthInteger>(
        _ type: T.Type, _ field: @autoclosure () -> String
    ) throws(WireError) -> T {
        guard let value = readInteger(as: T.self) else {
            throw WireError(.malformed, "\(field()): truncated")
        }
        return value
    }
}
