import Foundation
import Logging
import MonCore
import MonQueryKit
import MonTLS
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 POST of a notification on a connection of its own (notifications are
/// rare), over TLS for an https URL (MonTLS: a CA file, a client certificate, or no check
/// with `insecure_skip_verify`). The `Authorization` header is sent, never logged: errors
/// say what failed (a status, a refused connection, a timeout), not what was sent.
struct NotificationPoster: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case timeout(Double)
        case closedEarly

        var description: String {
            switch self {
            case .timeout(let seconds): "no answer within \(Thresholds.text(seconds)) s"
            case .closedEarly: "the connection closed before a complete answer"
            }
        }
    }

    let host: String
    let port: Int
    /// Path and query, as sent on the request line.
    let requestTarget: String
    let hostHeader: String
    let authorization: String?
    let security: ChannelSecurity?
    let timeoutSeconds: Double

    /// Reads the TLS files of an https URL now: a bad one is a `ConfigError` at start.
    init(url: URL, auth: NotifierAuth, tls: TLSClientSettings, timeoutSeconds: Double) throws {
        let host = url.host ?? ""
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let https = url.scheme == "https"
        port = url.port ?? (https ? 443 : 80)
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let path = components?.percentEncodedPath ?? "/"
        requestTarget =
            (path.isEmpty ? "/" : path) + (components?.percentEncodedQuery.map { "?\($0)" } ?? "")
        let literal = self.host.contains(":") ? "[\(self.host)]" : self.host
        hostHeader = url.port == nil ? literal : "\(literal):\(port)"
        authorization = auth.header
        security = https ? try tls.clientSecurity(host: self.host) : nil
        self.timeoutSeconds = timeoutSeconds
    }

    /// POSTs `body` (JSON unless `contentType` says otherwise, with `headers` added); the
    /// answer's status (its body is read and dropped). Throws on a connection or TLS error and
    /// after `timeoutSeconds` without a complete answer.
    func post(
        _ body: [UInt8], contentType: String = "application/json", headers: [(String, String)] = []
    ) async throws -> Int {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = loop.makePromise(of: Int.self)
        let timeoutMs = Int64(timeoutSeconds * 1000)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(timeoutMs))
            .channelInitializer { [security] channel in
                channel.eventLoop.makeCompletedFuture {
                    try security?(channel)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(StatusCatcher(answer: answer))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            answer.fail(error)
            throw error
        }
        let timeout = loop.scheduleTask(in: .milliseconds(timeoutMs)) {
            answer.fail(Failure.timeout(timeoutSeconds))
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: requestTarget)
        head.headers.add(name: "Host", value: hostHeader)
        head.headers.add(name: "User-Agent", value: "monquery/\(MonCoreVersion.string)")
        head.headers.add(name: "Content-Type", value: contentType)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        head.headers.add(name: "Connection", value: "close")
        if let authorization { head.headers.add(name: "Authorization", value: authorization) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await answer.futureResult.get()
    }
}

/// Keeps the status of the answer; completes with it at the answer's end.
private final class StatusCatcher: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let answer: EventLoopPromise<Int>
    private var status: Int?

    init(answer: EventLoopPromise<Int>) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body: break
        case .end:
            answer.succeed(status ?? 0)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // No effect once the answer is complete.
        answer.fail(NotificationPoster.Failure.closedEarly)
        context.fireChannelInactive()
    }
}

/// One notification target (a webhook, an Alertmanager): posts one at a time in the order
/// given (a resolution never overtakes the firing it ends), each with retries and
/// exponential backoff (1 s, 2 s, 4 s … at most 60 s), and counts for `/metrics` and
/// `/health/detailed`. At most `maxQueued` posts wait; past that a new one is dropped.
actor NotificationTarget {
    static let maxQueued = 100
    private var queue: Task<Void, Never>?
    private var queued = 0
    let poster: NotificationPoster
    let maxAttempts: Int
    let logger: Logger
    /// The first retry's delay in seconds (tests shorten it).
    let firstDelay: Double
    private(set) var counts: NotifierDeliveries

    init(
        notifier: String, url: URL, auth: NotifierAuth, tls: TLSClientSettings, timeoutSeconds: Double,
        maxAttempts: Int, firstDelay: Double = 1, logger: Logger
    ) throws {
        poster = try NotificationPoster(url: url, auth: auth, tls: tls, timeoutSeconds: timeoutSeconds)
        self.maxAttempts = maxAttempts
        self.firstDelay = firstDelay
        self.logger = logger
        counts = NotifierDeliveries(notifier: notifier, target: SecretRedaction.redactURL(url.absoluteString))
    }

    /// Queues `body` behind the posts not yet done; returns at once.
    func enqueue(_ body: [UInt8], names: [String]) {
        guard queued < Self.maxQueued else {
            counts.dropped += 1
            logger.error(
                "alert notification dropped: too many waiting for an unreachable target",
                metadata: ["notifier": "\(counts.notifier)", "target": "\(counts.target)", "waiting": "\(queued)"])
            return
        }
        queued += 1
        let previous = queue
        queue = Task {
            await previous?.value
            await self.deliver(body, names: names)
            self.queued -= 1
        }
    }

    /// Posts `body` until a 2xx answer or `maxAttempts` attempts; true when delivered.
    @discardableResult
    func deliver(_ body: [UInt8], names: [String]) async -> Bool {
        var delay = firstDelay
        let alerts = names.joined(separator: ",")
        for attempt in 1...maxAttempts {
            let problem: String
            do {
                let status = try await poster.post(body)
                if (200..<300).contains(status) {
                    counts.sent += 1
                    counts.lastSentMs = WallClock.nowMs()
                    return true
                }
                problem = "HTTP \(status)"
            } catch {
                problem = "\(error)"
            }
            counts.failedAttempts += 1
            counts.lastFailureMs = WallClock.nowMs()
            counts.lastError = problem
            logger.warning(
                "alert notification failed",
                metadata: [
                    "notifier": "\(counts.notifier)", "target": "\(counts.target)", "error": "\(problem)",
                    "attempt": "\(attempt)", "alerts": "\(alerts)",
                ])
            if attempt < maxAttempts {
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 60)
            }
        }
        counts.dropped += 1
        logger.error(
            "alert notification dropped after retries",
            metadata: ["notifier": "\(counts.notifier)", "target": "\(counts.target)", "alerts": "\(alerts)"])
        return false
    }
}
