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
/// Bounds: `traces.max_connections` open connections. A connection beyond them takes the
/// place of the longest-idle one (no request begun: its head not yet whole), which is closed
/// and counted; with none idle, the new one is closed at once and counted. So idle
/// connections, a client's forgotten pool or a hostile's, never lock an exporter out (the
/// hostile pass of issue 23: 256 idle connections did, for the idle timeout). Each request
/// must arrive whole within `traces.idle_timeout_seconds` of the connection's start or of
/// the previous answer (an idle or slow-sending client is closed); a body is
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
                switch limit.open(channel) {
                case .refused:
                    counters?.count("mon_agent_traces_connections_refused_total")
                    return channel.close()
                case .admitted(let evicted):
                    if let evicted {
                        counters?.count("mon_agent_traces_connections_evicted_total")
                        evicted.close(promise: nil)
                    }
                }
                channel.closeFuture.whenComplete { _ in limit.close(channel) }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        OTLPHTTPHandler(
                            intake: intake, maxBodyBytes: config.maxBodyBytes,
                            requestTimeout: .seconds(Int64(config.idleTimeoutSeconds)), limit: limit))
                }
            }
            .bind(host: config.listen.host, port: config.listen.port).get()
    }
}

/// Open connections, at most `max`; the idle ones (waiting for a request head) can be
/// closed to make room for a new one, the longest idle first.
final class ConnectionLimit: Sendable {
    enum Admission {
        /// Open it; close `evicted` (an idle connection it replaces) if there is one.
        case admitted(evicted: (any Channel)?)
        /// `max` are open and none is idle: close it.
        case refused
    }

    private struct State {
        var open = 0
        /// Idle connections by channel, with the order they became idle in.
        var idle: [ObjectIdentifier: (order: UInt64, channel: any Channel)] = [:]
        var nextOrder: UInt64 = 0
        /// Closed to make room: their places went to the connections that replaced them.
        var evicted: Set<ObjectIdentifier> = []
    }

    let max: Int
    private let state = Mutex(State())

    init(max: Int) { self.max = max }

    func open(_ channel: any Channel) -> Admission {
        state.withLock { state in
            if state.open < max {
                state.open += 1
                return .admitted(evicted: nil)
            }
            guard let oldest = state.idle.min(by: { $0.value.order < $1.value.order }) else { return .refused }
            // Its place goes to the new one: its close must not free it again.
            state.idle[oldest.key] = nil
            state.evicted.insert(oldest.key)
            return .admitted(evicted: oldest.value.channel)
        }
    }

    /// The channel closed: a place is free, unless it was evicted (its place went to another).
    func close(_ channel: any Channel) {
        state.withLock { state in
            let id = ObjectIdentifier(channel)
            if state.evicted.remove(id) != nil { return }
            state.idle[id] = nil
            state.open -= 1
        }
    }

    /// Waiting for a request head: may be evicted from now on.
    func idle(_ channel: any Channel) {
        state.withLock { state in
            state.nextOrder += 1
            state.idle[ObjectIdentifier(channel)] = (state.nextOrder, channel)
        }
    }

    /// A request began: not evictable until it is answered.
    func busy(_ channel: any Channel) {
        _ = state.withLock { $0.idle.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Open connections counted (tests).
    var openCount: Int { state.withLock { $0.open } }
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
    private let limit: ConnectionLimit?
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(intake: OTLPIntake, maxBodyBytes: Int, requestTimeout: TimeAmount, limit: ConnectionLimit? = nil) {
        self.intake = intake
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { waitForRequest(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        waitForRequest(context)
        context.fireChannelActive()
    }

    /// Idle until a request head is whole: evictable, and within the deadline.
    private func waitForRequest(_ context: ChannelHandlerContext) {
        limit?.idle(context.channel)
        armDeadline(context)
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
            limit?.busy(context.channel)
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
            waitForRequest(context)
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
