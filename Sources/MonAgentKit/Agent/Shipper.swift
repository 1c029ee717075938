import Logging
import MonCore
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Sends queued batches to the daemon and drops them once acked.
///
/// Connects, says HELLO, drops what the daemon already stored (WELCOME), then sends
/// the oldest unacked batch and waits for its ACK, one at a time. Any failure closes
/// the connection and retries after an exponential, jittered backoff; nothing leaves
/// the queue without an ack.
public struct Shipper: Service {
    public struct Configuration: Sendable {
        public var socketPath: String
        public var identity: AgentIdentity
        public var backoffInitial = 0.1
        public var backoffMaximum = 10.0
        public var maxFrameBytes = WireLimits.defaultMaxFrameBytes
        /// A remote daemon over TCP + TLS, used instead of `socketPath` when set.
        public var remote: Remote?

        public init(socketPath: String, identity: AgentIdentity) {
            self.socketPath = socketPath
            self.identity = identity
        }

        /// Where batches go, for log lines.
        var destination: String { remote.map { "tls://\($0.host):\($0.port)" } ?? socketPath }
    }

    /// A monquery on another host (`ingest.address`): TLS, and a token in HELLO.
    public struct Remote: Sendable {
        public var settings: RemoteIngestSettings
        /// The TLS client handler (MonTLS), first in the connection's pipeline.
        public var security: ChannelSecurity

        public init(settings: RemoteIngestSettings, security: @escaping ChannelSecurity) {
            self.settings = settings
            self.security = security
        }

        var host: String { settings.host }
        var port: Int { settings.port }
        var token: String { settings.token }
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    let configuration: Configuration
    let queue: any BatchQueue
    let logger: Logger

    public init(configuration: Configuration, queue: any BatchQueue, logger: Logger) {
        self.configuration = configuration
        self.queue = queue
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var backoff = Backoff(initial: configuration.backoffInitial, maximum: configuration.backoffMaximum)
        var appended = queue.appended.makeAsyncIterator()
        while !Task.isCancelled {
            do {
                try await session(appended: &appended) { backoff.reset() }
            } catch is CancellationError {
                return
            } catch {
                let delay = backoff.next()
                let depth = await queue.depth
                logger.warning(
                    "ingest connection failed, retrying",
                    metadata: [
                        "daemon": "\(configuration.destination)", "error": "\(error)",
                        "retry_in_seconds": "\(Int(delay * 1000) / 1000).\(Int(delay * 1000) % 1000)",
                        "queued_batches": "\(depth)",
                    ]
                )
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }

    private func session(
        appended: inout AsyncStream<Void>.Iterator,
        onWelcome: () -> Void
    ) async throws {
        let channel = try await connect()
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            let identity = configuration.identity
            try await outbound.write(
                WireMessage.hello(
                    .init(
                        agentID: identity.agentID, host: identity.host, bootID: identity.bootID,
                        token: configuration.remote?.token,
                        intervalMs: identity.intervalMs.map { UInt32(clamping: $0) },
                        agentVersion: identity.version)
                ).frame()
            )
            guard case .welcome(let welcome) = try await Self.receive(&responses) else {
                throw ProtocolError(message: "expected WELCOME")
            }
            await acknowledge(welcome)
            onWelcome()
            let depth = await queue.depth
            logger.info(
                "connected to monquery",
                metadata: ["daemon": "\(configuration.destination)", "queued_batches": "\(depth)"]
            )
            while !Task.isCancelled {
                guard let batch = await queue.oldestUnacked() else {
                    _ = await appended.next()
                    continue
                }
                try await outbound.write(WireMessage.batch(batch).frame())
                guard case .ack(let seq) = try await Self.receive(&responses), seq == batch.seq else {
                    throw ProtocolError(message: "expected ACK for batch \(batch.seq)")
                }
                await queue.acknowledge(upTo: seq)
            }
        }
    }

    /// Drops what the daemon says it stored — unless it claims a seq this agent never
    /// assigned: then another client announced this agent's identity (or the daemon's ledger
    /// is not this agent's), and trusting it would delete unsent batches. Nothing is dropped;
    /// new batches are numbered after the claimed seq, so none of them can collide with a
    /// ledger row it did not write (a collision would be acked as a duplicate and lost). The
    /// batches waiting are sent as they are: the ledger stores any seq it does not hold yet.
    private func acknowledge(_ welcome: WireMessage.Welcome) async {
        let assigned = await queue.lastSeq
        guard welcome.lastAckedSeq > assigned else {
            await queue.acknowledge(upTo: welcome.lastAckedSeq)
            return
        }
        queue.shaper.counters.add(.welcomesAhead)
        logger.error(
            "the daemon reports a stored seq above any this agent assigned; dropping nothing, numbering new batches after it",
            metadata: [
                "daemon": "\(configuration.destination)", "reported_seq": "\(welcome.lastAckedSeq)",
                "highest_assigned_seq": "\(assigned)", "boot_id": "\(configuration.identity.bootID)",
            ])
        // Above what a ledger holds (bigint): nothing to collide with; never number near overflow.
        if welcome.lastAckedSeq < Int64.max.magnitude { await queue.skipSequence(past: welcome.lastAckedSeq) }
    }

    private func connect() async throws -> NIOAsyncChannel<Frame, Frame> {
        let maxFrame = configuration.maxFrameBytes
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        @Sendable func framing(_ channel: any Channel) throws -> NIOAsyncChannel<Frame, Frame> {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrame)))
            try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
            return try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel)
        }
        guard let remote = configuration.remote else {
            return try await bootstrap.connect(unixDomainSocketPath: configuration.socketPath) { channel in
                channel.eventLoop.makeCompletedFuture { try framing(channel) }
            }
        }
        let security = remote.security
        return try await bootstrap.connect(host: remote.host, port: remote.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try security(channel)
                return try framing(channel)
            }
        }
    }

    private static func receive(
        _ responses: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator
    ) async throws -> WireMessage {
        guard let frame = try await responses.next() else {
            throw ProtocolError(message: "daemon closed the connection")
        }
        let message = try WireMessage(frame: frame)
        if case .error(let error) = message { throw error }
        return message
    }
}
