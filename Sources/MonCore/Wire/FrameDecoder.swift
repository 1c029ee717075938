import NIOCore

/// Why the frame decoder closed a connection.
public struct FrameDecoderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case frameTooLarge = "frame_too_large"
        case emptyFrame = "empty_frame"
        case truncatedFrame = "truncated_frame"
    }

    public var code: Code
    public var message: String

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Splits a byte stream into frames: 4-byte big-endian length, then that many bytes
/// (one type byte and the payload).
///
/// The length is checked against the limit before anything is allocated, so a peer
/// announcing 4 GiB costs nothing but the connection. With a `FrameLimit` (the daemon's
/// side), the limit is a few KiB until HELLO is answered; after it, a frame above
/// `ingest.max_frame_bytes` is not a reason to close: its first bytes are handed on as a
/// frame with `oversizedLength` set (so the batch can be named, quarantined and acked) and
/// the rest is read and dropped as it arrives, never buffered.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    private enum ReadState {
        case waitingForLength
        case waitingForFrame(length: Int)
        /// An oversized frame after HELLO: waiting for its first bytes.
        case waitingForPrefix(length: Int)
        /// The rest of an oversized frame, dropped as it arrives.
        case skipping(remaining: Int)
    }

    /// The limit without a `FrameLimit`; with one, its `maxFrameBytes`.
    public let maxFrameBytes: Int
    private let limit: FrameLimit?
    private var state = ReadState.waitingForLength

    public init(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
        limit = nil
    }

    /// A daemon-side decoder whose limit is raised once HELLO is answered.
    public init(limit: FrameLimit) {
        maxFrameBytes = limit.maxFrameBytes
        self.limit = limit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decodeFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        let state = try decode(context: context, buffer: &buffer)
        if state == .needMoreData, buffer.readableBytes > 0 || isInsideFrame {
            throw FrameDecoderError(
                code: .truncatedFrame,
                message: "connection closed with \(buffer.readableBytes) bytes of an incomplete frame"
            )
        }
        return state
    }

    private var isInsideFrame: Bool {
        if case .waitingForLength = state { return false }
        return true
    }

    /// Decodes one frame if the buffer holds a whole one (or the first bytes of an oversized
    /// one, see the type's documentation). Exposed for tests and fuzzing.
    public mutating func decodeFrame(_ buffer: inout ByteBuffer) throws -> Frame? {
        while true {
            switch state {
            case .skipping(let remaining):
                let dropped = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: dropped)
                guard dropped == remaining else {
                    state = .skipping(remaining: remaining - dropped)
                    return nil
                }
                state = .waitingForLength
            case .waitingForLength:
                guard let length = buffer.readInteger(as: UInt32.self) else { return nil }
                guard length > 0 else {
                    throw FrameDecoderError(code: .emptyFrame, message: "frame length 0 has no type byte")
                }
                let allowed = limit?.current ?? maxFrameBytes
                if UInt64(length) <= UInt64(allowed) {
                    state = .waitingForFrame(length: Int(length))
                } else if let limit, limit.isRaised {
                    state = .waitingForPrefix(length: Int(length))
                } else {
                    let when = limit == nil ? "" : " before HELLO is answered"
                    throw FrameDecoderError(
                        code: .frameTooLarge,
                        message: "frame of \(length) bytes exceeds the limit of \(allowed) bytes\(when)"
                    )
                }
            case .waitingForFrame(let length):
                guard buffer.readableBytes >= length, let type = buffer.readInteger(as: UInt8.self),
                    let payload = buffer.readSlice(length: length - 1)
                else { return nil }
                state = .waitingForLength
                return Frame(type: type, payload: payload)
            case .waitingForPrefix(let length):
                let kept = min(length, WireLimits.oversizedPrefixBytes)
                guard buffer.readableBytes >= kept, let type = buffer.readInteger(as: UInt8.self),
                    let prefix = buffer.readSlice(length: kept - 1)
                else { return nil }
                state = .skipping(remaining: length - kept)
                return Frame(type: type, payload: prefix, oversizedLength: length)
            }
        }
    }
}

/// Writes frames with their 4-byte length prefix.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        Self.write(data, to: &out)
    }

    public static func write(_ frame: Frame, to out: inout ByteBuffer) {
        out.writeInteger(UInt32(frame.payload.readableBytes + 1))
        out.writeInteger(frame.type)
        var payload = frame.payload
        out.writeBuffer(&payload)
    }
}
