import Logging
import MonCore
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// monagent's OTLP/HTTP listener (`traces.otlp_listen`, default `127.0.0.1:4318`): HTTP/1.1
/// on SwiftNIO, each request handed to `OTLPIntake`.
///
/// Bounds: `traces.max_connections` open connections (more are closed at once, counted);
/// each request must arrive whole within `traces.idle_timeout_seconds` of the connection's
/// start or of the previous answer (an idle or slow-sending client is closed); a body is
/// read up to `traces.max_body_bytes` and refused with 413 beyond it (the connection is
/// then closed). A port that cannot be bound is retried with backoff and logged; the rest
/// of the agent keeps running.
public struct OTLPServer: Service {
    let config: TracesConfig
    let intake: OTLPIntake
    let counters: AppAggregator?
    let logger: Logger
    /// Called with the bound port once listening (tests bind port 0).
    let onListening: (@Sendable (Int) -> Void)?

    public init(
        config: TracesConfig, intake: OTLPIntake, counters: AppAggregator?, logger: Logger,
        onListening: (@Sendable (Int) -> Void)? = nil
    ) {
        self.config = config
        self.intake = intake
        self.counters = counters
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        var backoff = Backoff(initial: 1, maximum: 60)
        var channel: (any Channel)? = nil
        let address = "\(config.listen.host):\(config.listen.port)"
        while channel == nil, !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                channel = try await bind()
            } catch {
                logger.error(
                    "OTLP trace listener cannot listen, retrying",
                    metadata: ["address": "\(address)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(Int(backoff.next() * 1000)))
            }
        }
        guard let channel else { return }
        let port = channel.localAddress?.port ?? config.listen.port
        logger.info(
            "OTLP trace listener ready",
            metadata: ["address": "\(config.listen.host):\(port)", "path": "\(OTLPIntake.path)"])
        onListening?(port)
        // Until the agent stops (or the task is cancelled).
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        }
        try? await channel.close()
    }

    private func bind() async throws -> any Channel {
        let config = config
        let intake = intake
        let counters = counters
        let limit = ConnectionLimit(max: config.maxConnections)
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard limit.open() else {
                    counters?.count("mon_agent_traces_connections_refused_total")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in limit.close() }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        OTLPHTTPHandler(
                            intake: intake, maxBodyBytes: config.maxBodyBytes,
                            requestTimeout: .seconds(Int64(config.idleTimeoutSeconds))))
                }
            }
            .bind(host: config.listen.host, port: config.listen.port).get()
    }
}

/// Open connections, at most `max`.
final class ConnectionLimit: Sendable {
    let max: Int
    private let count = Atomic<Int>(0)

    init(max: Int) { self.max = max }

    func open() -> Bool {
        let now = count.add(1, ordering: .relaxed).newValue
        guard now <= max else {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func close() { count.subtract(1, ordering: .relaxed) }
}

/// One connection: reads a request (head, body up to the bound), answers it, and so on
/// (keep-alive); one request at a time.
final class OTLPHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Reading the body of an accepted head.
        case body(head: HTTPRequestHead, bytes: ByteBuffer)
        /// Answered early (or too large): the rest of the request is skipped, then the answer is sent.
        case skipping(OTLPResponse, keepAlive: Bool)
        /// Waiting for the intake's answer.
        case processing
    }

    private let intake: OTLPIntake
    private let maxBodyBytes: Int
    private let requestTimeout: TimeAmount
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(intake: OTLPIntake, maxBodyBytes: Int, requestTimeout: TimeAmount) {
        self.intake = intake
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    /// The next request must be complete within `requestTimeout` (slow or idle clients are closed).
    private func armDeadline(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: requestTimeout) { bound.value.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            let contentLength = head.headers.first(name: "content-length").flatMap { Int($0) }
            if let response = intake.early(
                method: head.method.rawValue, path: head.uri, contentType: head.headers.first(name: "content-type"),
                contentLength: contentLength)
            {
                // The body is skipped (not kept) and the answer sent once it ended: a client
                // still sending would otherwise see a reset instead of the answer. A body
                // announced above the limit closes the connection after the answer; the
                // request deadline bounds how long the skipping lasts.
                let keepAlive = head.isKeepAlive && response.status != 413
                state = .skipping(response, keepAlive: keepAlive)
                return
            }
            let bytes = context.channel.allocator.buffer(capacity: min(contentLength ?? 0, maxBodyBytes))
            state = .body(head: head, bytes: bytes)
        case .body(var part):
            switch state {
            case .body(let head, var bytes):
                guard bytes.readableBytes + part.readableBytes <= maxBodyBytes else {
                    let encoding = OTLPEncoding(contentType: head.headers.first(name: "content-type"))
                    state = .skipping(intake.tooLarge(encoding), keepAlive: false)
                    return
                }
                state = .processing
                bytes.writeBuffer(&part)
                state = .body(head: head, bytes: bytes)
            default:
                return
            }
        case .end:
            switch state {
            case .skipping(let response, let keepAlive):
                deadline?.cancel()
                deadline = nil
                respond(context, response, keepAlive: keepAlive)
            case .body(let head, let bytes):
                deadline?.cancel()
                deadline = nil
                state = .processing
                let intake = intake
                let contentType = head.headers.first(name: "content-type")
                let contentEncoding = head.headers.first(name: "content-encoding")
                let keepAlive = head.isKeepAlive
                let body = Array(bytes.readableBytesView)
                let promise = context.eventLoop.makePromise(of: OTLPResponse.self)
                promise.completeWithTask {
                    await intake.handle(contentType: contentType, contentEncoding: contentEncoding, body: body)
                }
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                promise.futureResult.whenSuccess { response in
                    let (handler, context) = bound.value
                    handler.respond(context, response, keepAlive: keepAlive)
                }
            default:
                return
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ response: OTLPResponse, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        if let seconds = response.retryAfterSeconds { headers.add(name: "Retry-After", value: String(seconds)) }
        if response.status == 405 { headers.add(name: "Allow", value: "POST") }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let written = context.writeAndFlushWithPromise(wrapOutboundOut(.end(nil)))
        if keepAlive {
            state = .idle
            armDeadline(context)
        } else {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushWithPromise(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}
