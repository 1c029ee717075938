import NIOCore
import NIOEmbedded
import Testing

@testable import MonAgentKit
@testable import MonCore

/// A daemon that accepts and never answers (wedged, or a half-open TCP connection) held the
/// shipper forever (found by the hostile pass: a silent Unix socket kept a release agent
/// waiting for WELCOME with 90 batches queued). Every frame the agent sends must be answered
/// within the deadline, or the connection closes and the shipper reconnects.
@Suite struct ResponseDeadlineTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ResponseDeadline(timeout: .seconds(30)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static func frame(_ type: MessageType) -> Frame {
        Frame(type: type.rawValue, payload: ByteBuffer(bytes: [0, 1]))
    }

    @Test func anUnansweredFrameClosesTheConnectionAtTheDeadline() throws {
        let channel = try Self.channel()
        try channel.writeOutbound(Self.frame(.hello))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(throws: ResponseDeadline.TimedOut.self) { try channel.throwIfErrorCaught() }
    }

    @Test func anAnswerClearsTheDeadlineAndTheNextWriteStartsANewOne() throws {
        let channel = try Self.channel()
        try channel.writeOutbound(Self.frame(.batch))
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        try channel.writeInbound(Self.frame(.ack))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive, "answered, then idle with nothing outstanding: kept open")
        try channel.writeOutbound(Self.frame(.batch))
        channel.embeddedEventLoop.advanceTime(by: .seconds(31))
        #expect(!channel.isActive)
    }

    /// Two batches on the wire: the ACK of the first leaves the second unanswered, so the
    /// deadline starts again instead of being cleared (a daemon that stops after one ACK would
    /// otherwise hold the shipper forever).
    @Test func anAnswerWithAnotherFrameUnansweredStartsTheDeadlineAgain() throws {
        let channel = try Self.channel()
        try channel.writeOutbound(Self.frame(.batch))
        try channel.writeOutbound(Self.frame(.batch))
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        try channel.writeInbound(Self.frame(.ack))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive, "the second batch has had 29 s of its 30")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(throws: ResponseDeadline.TimedOut.self) { try channel.throwIfErrorCaught() }
    }

    @Test func anIdleConnectionWithNothingSentStaysOpen() throws {
        let channel = try Self.channel()
        channel.embeddedEventLoop.advanceTime(by: .hours(1))
        #expect(channel.isActive)
        _ = try channel.finish()
    }
}
