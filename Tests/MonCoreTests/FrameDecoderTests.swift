import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import MonCore

@Suite struct FrameDecoderTests {
    /// A frame as it travels: 4-byte big-endian length, type byte, payload.
    private static func wire(type: UInt8, payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.count + 1))
        buffer.writeInteger(type)
        buffer.writeBytes(payload)
        return buffer
    }

    private static func frame(type: UInt8, payload: [UInt8]) -> Frame {
        Frame(type: type, payload: ByteBuffer(bytes: payload))
    }

    private static func lengthOnly(_ length: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(length)
        return buffer
    }

    @Test func everySplitOfTheInputDecodesTheSameFrames() throws {
        let helloPayload = Array(
            WireMessage.hello(.init(agentID: "a", host: "h", bootID: "b")).frame().payload.readableBytesView)
        var twoFrames = Self.wire(type: 4, payload: [0, 0, 0, 0, 0, 0, 0, 7])
        var second = Self.wire(type: 2, payload: [0, 1])
        twoFrames.writeBuffer(&second)
        let pairs: [(ByteBuffer, [Frame])] = [
            (Self.wire(type: 1, payload: helloPayload), [Self.frame(type: 1, payload: helloPayload)]),
            (Self.wire(type: 3, payload: []), [Self.frame(type: 3, payload: [])]),
            (Self.wire(type: 200, payload: [9, 8, 7]), [Self.frame(type: 200, payload: [9, 8, 7])]),
            (
                twoFrames,
                [Self.frame(type: 4, payload: [0, 0, 0, 0, 0, 0, 0, 7]), Self.frame(type: 2, payload: [0, 1])]
            ),
            (
                Self.wire(type: 5, payload: Array(repeating: 0xAB, count: 300)),
                [Self.frame(type: 5, payload: Array(repeating: 0xAB, count: 300))]
            ),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder(maxFrameBytes: 1024) }
    }

    @Test func byteByByteFeedingYieldsTheFrameOnlyAtTheLastByte() throws {
        var decoder = FrameDecoder(maxFrameBytes: 64)
        let bytes = Array(Self.wire(type: 3, payload: [1, 2, 3, 4, 5]).readableBytesView)
        var buffer = ByteBuffer()
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let frame = try decoder.decodeFrame(&buffer)
            if index < bytes.count - 1 {
                #expect(frame == nil, "frame reported after \(index + 1) of \(bytes.count) bytes")
            } else {
                #expect(frame == Self.frame(type: 3, payload: [1, 2, 3, 4, 5]))
            }
        }
        #expect(buffer.readableBytes == 0)
    }

    @Test("A length above the limit is refused after reading only the length", arguments: [UInt32.max, 1025, 1 << 31])
    func lengthAboveLimitIsRefusedBeforeAllocating(length: UInt32) {
        var decoder = FrameDecoder(maxFrameBytes: 1024)
        var buffer = Self.lengthOnly(length)
        let error = #expect(throws: FrameDecoderError.self) { try decoder.decodeFrame(&buffer) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message.contains("\(length)") == true)
        #expect(error?.message.contains("1024") == true)
        #expect(buffer.readableBytes == 0, "nothing past the length may be read or awaited")
    }

    @Test func fourGibibyteLengthClosesTheChannelWithFrameTooLarge() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 1024)))
        let error = #expect(throws: FrameDecoderError.self) {
            try channel.writeInbound(Self.lengthOnly(0xFFFF_FFFF))
        }
        #expect(error?.code == .frameTooLarge)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        _ = try? channel.finish()
    }

    @Test func lengthEqualToTheLimitIsAccepted() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 16)))
        let payload = Array(0..<UInt8(15))
        try channel.writeInbound(Self.wire(type: 3, payload: payload))
        #expect(try channel.readInbound(as: Frame.self) == Self.frame(type: 3, payload: payload))
        #expect(try channel.finish().isClean)
    }

    @Test func defaultLimitIsSixteenMebibytes() {
        #expect(FrameDecoder().maxFrameBytes == 16 * 1024 * 1024)
    }

    @Test func zeroLengthIsAnEmptyFrameError() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 1024)))
        let error = #expect(throws: FrameDecoderError.self) { try channel.writeInbound(Self.lengthOnly(0)) }
        #expect(error?.code == .emptyFrame)
        #expect(error?.description.hasPrefix("empty_frame: ") == true)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        _ = try? channel.finish()
    }

    /// Truncation at EOF: inside the length, inside the type byte, inside the payload.
    @Test("Closing mid-frame is a truncatedFrame error", arguments: [1, 3, 4, 5, 9])
    func closingMidFrameIsTruncated(prefix: Int) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 1024)))
        let whole = Self.wire(type: 3, payload: Array(repeating: 1, count: 10))
        try channel.writeInbound(try #require(whole.getSlice(at: 0, length: prefix)))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        let error = #expect(throws: FrameDecoderError.self) { try channel.finish() }
        #expect(error?.code == .truncatedFrame)
    }

    @Test func closingBetweenFramesIsClean() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 1024)))
        try channel.writeInbound(Self.wire(type: 4, payload: [1]))
        #expect(try channel.readInbound(as: Frame.self) == Self.frame(type: 4, payload: [1]))
        #expect(try channel.finish().isClean)
    }

    @Test func twoFramesInOneBufferGiveTwoFrames() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameBytes: 1024)))
        var buffer = Self.wire(type: 1, payload: [0xAA, 0xBB])
        var second = Self.wire(type: 5, payload: [])
        buffer.writeBuffer(&second)
        try channel.writeInbound(buffer)
        #expect(try channel.readInbound(as: Frame.self) == Self.frame(type: 1, payload: [0xAA, 0xBB]))
        #expect(try channel.readInbound(as: Frame.self) == Self.frame(type: 5, payload: []))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func encoderWritesLengthTypeAndPayload() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(FrameEncoder()))
        try channel.writeOutbound(Self.frame(type: 3, payload: [7, 8, 9]))
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(written.readableBytesView) == [0, 0, 0, 4, 3, 7, 8, 9])
        #expect(try channel.finish().isClean)
    }

    @Test func encoderOutputRoundTripsThroughTheDecoder() throws {
        let messages: [WireMessage] = [
            .hello(.init(agentID: "agent-1", host: "web-1", bootID: "boot")),
            .welcome(.init(lastAckedSeq: 41)),
            .batch(Batch(seq: 9, createdMs: 1_000, samples: [Sample("m", ["k": "v"], value: 1.5, timestampMs: 5)])),
            .ack(seq: 9),
            .error(WireError(.forbidden, "no")),
        ]
        let frames = messages.map { $0.frame() }
        var bytes = ByteBuffer()
        for frame in frames { FrameEncoder.write(frame, to: &bytes) }

        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        try channel.writeInbound(bytes)
        var decoded: [WireMessage] = []
        while let frame = try channel.readInbound(as: Frame.self) {
            decoded.append(try WireMessage(frame: frame))
        }
        #expect(decoded == messages)
        #expect(try channel.finish().isClean)
    }

    @Test func frameKeepsAnUnknownTypeForTheHandler() throws {
        var decoder = FrameDecoder()
        var buffer = Self.wire(type: 0xEE, payload: [1])
        let frame = try #require(try decoder.decodeFrame(&buffer))
        #expect(frame.type == 0xEE)
        #expect(Array(frame.payload.readableBytesView) == [1])
    }
}
