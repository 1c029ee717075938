import Logging
import MonCore
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Sends queued batches to the daemon and drops them once acked.
///
/// Connects, says HELLO, drops what the daemon already stored (WELCOME), then sends the
/// unacked batches oldest first, up to `maxInFlight` ahead of their ACKs, as the bytes the
/// queue holds them in (a spooled batch is not decoded and encoded again). Any failure closes
/// the connection and retries after an exponential, jittered backoff; nothing leaves
/// the queue without an ack. Every protocol decision is `ShipperStateMachine`'s; this
/// type owns the socket and the queue and performs the machine's actions.
public struct Shipper: Service {
    public struct Configuration: Sendable {
        public var socketPath: String
        public var identity: AgentIdentity
        public var backoffInitial = 0.1
        public var backoffMaximum = 10.0
        public var maxFrameBytes = WireLimits.defaultMaxFrameBytes
        /// How long a HELLO or BATCH may wait for the daemon's answer before the connection is
        /// closed and opened again (a wedged daemon, a half-open TCP connection). Well above what
        /// a daemon may legitimately take (its store gives up after a 30-s statement timeout and
        /// answers ERROR), so a slow database never makes the agent resend the same batch forever.
        public var responseTimeoutSeconds = 120.0
        /// Batches sent ahead of their ACKs (2: the daemon has the next batch at hand while it
        /// stores one, and the shipper reads the next from the queue meanwhile).
        public var maxInFlight = 2
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

    typealias Machine = ShipperStateMachine

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

    /// Performs the machine's actions outside a connection: connect, back off, stop.
    private func loop() async {
        var machine = Machine(
            identity: configuration.identity, token: configuration.remote?.token,
            backoff: Backoff(initial: configuration.backoffInitial, maximum: configuration.backoffMaximum),
            maxInFlight: configuration.maxInFlight)
        var appended = queue.appended.makeAsyncIterator()
        var action = machine.receive(.start)
        while true {
            switch action {
            case .connect:
                guard !Task.isCancelled else {
                    action = machine.receive(.cancelled)
                    continue
                }
                do {
                    let channel = try await connect()
                    action = await session(channel, machine: &machine, appended: &appended)
                } catch {
                    action = machine.receive(Self.event(for: error, or: Machine.Event.connectFailed))
                }
            case .reconnect(let failure, let delay):
                let depth = await queue.depth
                logger.warning(
                    "ingest connection failed, retrying",
                    metadata: [
                        "daemon": "\(configuration.destination)", "error": "\(failure)",
                        "retry_in_seconds": "\(Int(delay * 1000) / 1000).\(Int(delay * 1000) % 1000)",
                        "queued_batches": "\(depth)",
                    ]
                )
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                action = machine.receive(Task.isCancelled ? .cancelled : .backoffElapsed)
            case .stop:
                return
            case .sendHello, .readAssignedSeq, .welcomed, .sendBatch, .awaitResponse, .acknowledge, .readUnacked,
                .waitForBatches:
                // Only inside a connection; the machine never asks for these here.
                action = machine.receive(.connectionFailed("an action that needs a connection, without one"))
            }
        }
    }

    /// Performs the machine's actions on one connection until it asks to reconnect or stop;
    /// returns that action, after the connection is closed.
    private func session(
        _ channel: NIOAsyncChannel<Frame, Frame>,
        machine: inout Machine,
        appended: inout AsyncStream<Void>.Iterator
    ) async -> Machine.Action {
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var responses = inbound.makeAsyncIterator()
                var action = machine.receive(.connected)
                while true {
                    switch action {
                    case .connect, .reconnect, .stop:
                        return action
                    case .sendHello(let hello):
                        if let failed = await write(WireMessage.hello(hello).frame(), outbound) {
                            action = machine.receive(failed)
                        } else {
                            action = machine.receive(await response(&responses))
                        }
                    case .sendBatch(let batch):
                        action = machine.receive(await write(batch.frame, outbound) ?? .sent)
                    case .awaitResponse:
                        action = machine.receive(await response(&responses))
                    case .readAssignedSeq:
                        action = machine.receive(.assignedSeq(await queue.lastSeq))
                    case .welcomed(let decision):
                        await apply(decision)
                        let depth = await queue.depth
                        logger.info(
                            "connected to monquery",
                            metadata: ["daemon": "\(configuration.destination)", "queued_batches": "\(depth)"]
                        )
                        action = machine.receive(await unacked(after: nil))
                    case .acknowledge(let seq, let after):
                        await queue.acknowledge(upTo: seq)
                        action = machine.receive(await unacked(after: after))
                    case .readUnacked(let after):
                        action = machine.receive(await unacked(after: after))
                    case .waitForBatches:
                        _ = await appended.next()
                        action = machine.receive(Task.isCancelled ? .cancelled : .appended)
                    }
                }
            }
        } catch {
            // executeThenClose rethrows only what the body throws, and it throws nothing.
            return machine.receive(Self.event(for: error, or: Machine.Event.connectionFailed))
        }
    }

    /// Writes `frame`; nil once written, else the failure to report.
    private func write(_ frame: Frame, _ outbound: NIOAsyncChannelOutboundWriter<Frame>) async -> Machine.Event? {
        do {
            try await outbound.write(frame)
            return nil
        } catch {
            return Self.event(for: error, or: Machine.Event.connectionFailed)
        }
    }

    /// Reads the daemon's next frame, as the event to report.
    private func response(_ responses: inout NIOAsyncChannelInboundStream<Frame>.AsyncIterator) async -> Machine.Event {
        do {
            guard let frame = try await responses.next() else { return .closed }
            do throws(WireError) {
                return .received(try WireMessage(frame: frame))
            } catch {
                return .undecodable(error)
            }
        } catch {
            return Self.event(for: error, or: Machine.Event.connectionFailed)
        }
    }

    /// The queue's next unacked batch after `seq` (the oldest when nil), or `.cancelled` once
    /// the task is (checked between batches: after WELCOME, after each send and ACK, after
    /// each wake-up).
    private func unacked(after seq: UInt64?) async -> Machine.Event {
        Task.isCancelled ? .cancelled : .unacked(await queue.unacked(after: seq))
    }

    /// `.cancelled` for a cancellation, else `failed` with the error's description.
    private static func event(for error: any Error, or failed: (String) -> Machine.Event) -> Machine.Event {
        error is CancellationError ? .cancelled : failed("\(error)")
    }

    /// Applies a WELCOME to the queue; one ahead of any assigned seq is counted and logged.
    private func apply(_ decision: Machine.WelcomeDecision) async {
        switch decision {
        case .acknowledge(let seq):
            await queue.acknowledge(upTo: seq)
        case .ahead(let reported, let assigned, let skipSequence):
            queue.shaper.counters.add(.welcomesAhead)
            logger.error(
                "the daemon reports a stored seq above any this agent assigned; dropping nothing, numbering new batches after it",
                metadata: [
                    "daemon": "\(configuration.destination)", "reported_seq": "\(reported)",
                    "highest_assigned_seq": "\(assigned)", "boot_id": "\(configuration.identity.bootID)",
                ])
            if skipSequence { await queue.skipSequence(past: reported) }
        }
    }

    private func connect() async throws -> NIOAsyncChannel<Frame, Frame> {
        let maxFrame = configuration.maxFrameBytes
        let responseTimeout = TimeAmount.milliseconds(Int64(configuration.responseTimeoutSeconds * 1000))
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        @Sendable func framing(_ channel: any Channel) throws -> NIOAsyncChannel<Frame, Frame> {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrame)))
            try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
            try channel.pipeline.syncOperations.addHandler(ResponseDeadline(timeout: responseTimeout))
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
}
