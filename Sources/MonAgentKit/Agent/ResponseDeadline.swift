import MonCore
import NIOCore

/// Closes the ingest connection when the daemon leaves a frame unanswered for too long.
///
/// Every frame the agent sends (HELLO, BATCH) gets exactly one answer (WELCOME, ACK or ERROR).
/// A daemon that accepts and then says nothing — wedged, or a half-open TCP connection after a
/// network partition — would otherwise hold the shipper forever while batches pile up in the
/// spool. The deadline starts at the first unanswered write; each frame from the daemon answers
/// one write and starts it again while others are unanswered (batches sent ahead of their ACKs),
/// else clears it. When it passes, the error reaches the shipper, which closes and reconnects.
final class ResponseDeadline: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundIn = Frame
    typealias OutboundOut = Frame

    /// The daemon did not answer in time.
    struct TimedOut: Error, CustomStringConvertible {
        var seconds: Double
        var description: String { "no answer from the daemon within \(seconds) s" }
    }

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Frames written and not answered yet.
    private var unanswered = 0

    init(timeout: TimeAmount) { self.timeout = timeout }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        unanswered += 1
        if deadline == nil { start(context) }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline?.cancel()
        deadline = nil
        unanswered = max(0, unanswered - 1)
        if unanswered > 0 { start(context) }
        context.fireChannelRead(data)
    }

    private func start(_ context: ChannelHandlerContext) {
        let timeout = timeout
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let context = loopBound.value
            context.fireErrorCaught(TimedOut(seconds: Double(timeout.nanoseconds) / 1e9))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}
