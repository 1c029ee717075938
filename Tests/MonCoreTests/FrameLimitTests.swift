import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import MonCore

/// The daemon's frame limit: a few KiB until HELLO is answered (refused before allocating),
/// `ingest.max_frame_bytes` after it, and an oversized frame after HELLO skipped, not buffered.
@Suite struct FrameLimitTests {
    private static func wire(type: UInt8, payloadBytes: Int, fill: UInt8 = 0xAB) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payloadBytes + 1))
        buffer.writeInteger(type)
        buffer.writeRepeatingByte(fill, count: payloadBytes)
        return buffer
    }

    @Test("before HELLO a 16 MiB frame is refused after reading its length only")
    func sixteenMebibytesBeforeHelloIsRefused() {
        let limit = FrameLimit(maxFrameBytes: WireLimits.defaultMaxFrameBytes)
        var decoder = FrameDecoder(limit: limit)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(16 << 20))
        buffer.writeInteger(UInt8(3))
        let error = #expect(throws: FrameDecoderError.self) { try decoder.decodeFrame(&buffer) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message.contains("8192") == true)
        #expect(error?.message.contains("before HELLO") == true)
        #expect(buffer.readableBytes == 1, "nothing past the length was read")
    }

    @Test func handshakeLimitIsEightKibibytesAndAFrameOfThatSizePasses() throws {
        let limit = FrameLimit()
        #expect(limit.current == 8 * 1024)
        var decoder = FrameDecoder(limit: limit)
        var buffer = Self.wire(type: 1, payloadBytes: 8 * 1024 - 1)
        #expect(try decoder.decodeFrame(&buffer)?.payload.readableBytes == 8 * 1024 - 1)
        var over = Self.wire(type: 1, payloadBytes: 8 * 1024)
        #expect(throws: FrameDecoderError.self) { try decoder.decodeFrame(&over) }
    }

    @Test func afterHelloTheFullLimitApplies() throws {
        let limit = FrameLimit(maxFrameBytes: 64 * 1024)
        var decoder = FrameDecoder(limit: limit)
        limit.raise()
        var buffer = Self.wire(type: 3, payloadBytes: 64 * 1024 - 1)
        let frame = try #require(try decoder.decodeFrame(&buffer))
        #expect(frame.oversizedLength == nil)
        #expect(frame.payload.readableBytes == 64 * 1024 - 1)
    }

    @Test("after HELLO an oversized frame yields its first bytes; the rest is dropped as it arrives")
    func oversizedFrameAfterHelloIsSkipped() throws {
        let limit = FrameLimit(maxFrameBytes: 2048)
        limit.raise()
        var stream = Self.wire(type: 3, payloadBytes: 200_000, fill: 7)
        var next = Self.wire(type: 3, payloadBytes: 10, fill: 9)
        stream.writeBuffer(&next)
        let bytes = Array(stream.readableBytesView)
        // Fed in pieces, as TCP delivers it: the buffer never holds more than a piece.
        var decoder = FrameDecoder(limit: limit)
        var buffer = ByteBuffer()
        var frames: [Frame] = []
        var largestBuffered = 0
        for start in stride(from: 0, to: bytes.count, by: 4096) {
            buffer.writeBytes(bytes[start..<min(start + 4096, bytes.count)])
            largestBuffered = max(largestBuffered, buffer.readableBytes)
            while let frame = try decoder.decodeFrame(&buffer) { frames.append(frame) }
            buffer.discardReadBytes()
        }
        #expect(frames.count == 2)
        #expect(frames.first?.oversizedLength == 200_001)
        #expect(frames.first?.payload.readableBytes == WireLimits.oversizedPrefixBytes - 1)
        #expect(frames.first?.payload.readableBytesView.allSatisfy { $0 == 7 } == true)
        #expect(frames.last == Frame(type: 3, payload: ByteBuffer(bytes: Array(repeating: 9, count: 10))))
        #expect(largestBuffered <= WireLimits.oversizedPrefixBytes + 4096)
    }

    @Test func everySplitOfAnOversizedFrameDecodesTheSame() throws {
        let limit = FrameLimit(maxFrameBytes: 1024)
        limit.raise()
        var input = Self.wire(type: 3, payloadBytes: 3000, fill: 1)
        var next = Self.wire(type: 4, payloadBytes: 8, fill: 2)
        input.writeBuffer(&next)
        let expected = [
            Frame(type: 3, payload: ByteBuffer(bytes: Array(repeating: 1, count: 3000)), oversizedLength: 3001),
            Frame(type: 4, payload: ByteBuffer(bytes: Array(repeating: 2, count: 8))),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(input, expected)]) {
            FrameDecoder(limit: limit)
        }
    }

    @Test func truncatedOversizedFrameAtCloseIsAnError() throws {
        let limit = FrameLimit(maxFrameBytes: 1024)
        limit.raise()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limit: limit)))
        let whole = Self.wire(type: 3, payloadBytes: 100_000)
        try channel.writeInbound(try #require(whole.getSlice(at: 0, length: 70_000)))
        #expect(try channel.readInbound(as: Frame.self)?.oversizedLength == 100_001)
        let error = #expect(throws: FrameDecoderError.self) { try channel.finish() }
        #expect(error?.code == .truncatedFrame)
    }
}
