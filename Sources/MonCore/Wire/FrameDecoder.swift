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
/// The length is checked against `maxFrameBytes` before anything is allocated,
/// so a peer announcing 4 GiB costs nothing but the connection.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    private enum ReadState {
        case waitingForLength
        case waitingForFrame(length: Int)
    }

    public let maxFrameBytes: Int
    private var state = ReadState.waitingForLength

    public init(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
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
        if case .waitingForFrame = state { return true }
        return false
    }

    /// Decodes one frame if the buffer holds a whole one. Exposed for tests and fuzzing.
    public mutating func decodeFrame(_ buffer: inout ByteBuffer) throws -> Frame? {
        if case .waitingForLength = state {
            guard let length = buffer.readInteger(as: UInt32.self) else { return nil }
            guard length > 0 else {
                throw FrameDecoderError(code: .emptyFrame, message: "frame length 0 has no type byte")
            }
            guard UInt64(length) <= UInt64(maxFrameBytes) else {
                throw FrameDecoderError(
                    code: .frameTooLarge,
                    message: "frame of \(length) bytes exceeds the limit of \(maxFrameBytes) bytes"
                )
            }
            state = .waitingForFrame(length: Int(length))
        }
        guard case .waitingForFrame(let length) = state, buffer.readableBytes >= length,
            let type = buffer.readInteger(as: UInt8.self),
            let payload = buffer.readSlice(length: length - 1)
        else { return nil }
        state = .waitingForLength
        return Frame(type: type, payload: payload)
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
