import MonCore
import NIOCore

/// Closes the ingest connection when the daemon leaves a frame unanswered for too long.
///
/// Every frame the agent sends (HELLO, BATCH) gets exactly one answer (WELCOME, ACK or ERROR).
/// A daemon that accepts and then says nothing — wedged, or a half-open TCP connection after a
/// network partition — would otherwise hold the shipper forever while batches pile up in the
/// spool. The deadline starts at the first unanswered write and is cleared by any frame from
/// the daemon; when it passes, the error reaches the shipper, which closes and reconnects.
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

    init(timeout: TimeAmount) { self.timeout = timeout }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if deadline == nil {
            let timeout = timeout
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) {
                let context = loopBound.value
                context.fireErrorCaught(TimedOut(seconds: Double(timeout.nanoseconds) / 1e9))
                context.close(promise: nil)
            }
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelRead(data)
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
