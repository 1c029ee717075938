import Hummingbird
import MonCore
import MonQueryKit
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// The HTTP server's per-connection limits, in each connection's pipeline right after HTTP
/// decoding (`HTTP1Channel`'s additional handlers). It feeds `HTTPConnectionState` and carries
/// out its decisions, each counted in `HTTPLimitStats`:
/// - a connection over `http.max_connections` gets `503` + `Retry-After` to its first request
///   and is closed;
/// - a declared body over `http.max_body_bytes` gets `413`; a streamed one closes the connection;
/// - request line + headers over `http.max_header_bytes` get `431` (NIO's decoder stops at the
///   limit, before buffering more);
/// - a connection with no request in progress for `http.idle_timeout_seconds` is closed (a
///   keep-alive connection between requests, or a client still trickling its request head).
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: HTTPLimits
    private let stats: HTTPLimitStats
    private var state: HTTPConnectionState?
    private var timer: Scheduled<Void>?
    private var counted = false

    init(limits: HTTPLimits, stats: HTTPLimitStats) {
        self.limits = limits
        self.stats = stats
    }

    /// Header fields accepted in one request (NIO's decoder refuses more, like too many bytes).
    static let maxHeaderFields = 100

    static var nowMs: Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    func handlerAdded(context: ChannelHandlerContext) {
        let open = stats.connectionOpened()
        counted = true
        let state = HTTPConnectionState(
            idleTimeoutMs: Int64(limits.idleTimeoutSeconds * 1000), maxBodyBytes: limits.maxBodyBytes,
            overCapacity: open > limits.maxConnections, nowMs: Self.nowMs)
        self.state = state
        schedule(context, atMs: state.firstDeadlineMs)
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish() }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func finish() {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            stats.connectionClosed()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var state else { return context.fireChannelRead(data) }
        defer { self.state = state }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let length = head.headerFields[.contentLength].flatMap { Int($0) }
            switch state.head(contentLength: length, nowMs: Self.nowMs) {
            case .forward:
                context.fireChannelRead(data)
            case .refuse(let reason):
                stats.refuse(reason)
                if reason == .maxConnections {
                    respond(
                        context, .serviceUnavailable, code: "too_many_connections",
                        message: "\(limits.maxConnections) connections are open (http.max_connections); retry later",
                        retryAfter: "1")
                } else {
                    respond(
                        context, .contentTooLarge, code: "body_too_large",
                        message: "the body is larger than \(limits.maxBodyBytes) bytes (http.max_body_bytes)")
                }
            }
        case .body(let buffer):
            switch state.body(bytes: buffer.readableBytes) {
            case .forward:
                context.fireChannelRead(data)
            case .drop:
                break
            case .close:
                stats.refuse(.bodyTooLarge)
                context.close(promise: nil)
            }
        case .end:
            if state.end(nowMs: Self.nowMs) { context.fireChannelRead(data) }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), let deadline = state?.responseEnded(nowMs: Self.nowMs) {
            schedule(context, atMs: deadline)
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let parserError = error as? HTTPParserError {
            if parserError == .headerOverflow, state?.headerOverflow() == true {
                stats.refuse(.headerTooLarge)
                respond(
                    context, .requestHeaderFieldsTooLarge, code: "header_too_large",
                    message:
                        "the request line and header fields exceed \(limits.maxHeaderBytes) bytes (http.max_header_bytes) or \(Self.maxHeaderFields) fields"
                )
                return
            }
            // Hummingbird answers 400 and closes; counted here.
            stats.refuse(.malformedRequest)
        }
        context.fireErrorCaught(error)
    }

    /// Answers with the JSON error body and `Connection: close`, then closes.
    private func respond(
        _ context: ChannelHandlerContext, _ status: HTTPResponse.Status, code: String, message: String,
        retryAfter: String? = nil
    ) {
        let body = JSONValue.object([("error", .object([("code", .string(code)), ("message", .string(message))]))])
            .encoded()
        var fields: HTTPFields = [
            .contentType: "application/json; charset=utf-8", .connection: "close",
            .contentLength: String(body.utf8.count),
        ]
        if let retryAfter { fields[.retryAfter] = retryAfter }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(string: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func schedule(_ context: ChannelHandlerContext, atMs: Int64) {
        timer?.cancel()
        let delay = TimeAmount.milliseconds(max(1, atMs - Self.nowMs))
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            guard var state else { return }
            let action = state.timer(nowMs: Self.nowMs)
            self.state = state
            switch action {
            case .close:
                stats.closedIdle()
                context.close(promise: nil)
            case .check(let atMs):
                schedule(context, atMs: atMs)
            case .wait:
                break
            }
        }
    }
}
