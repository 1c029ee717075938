import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Accepts agents on a Unix stream socket (and, for remote agents, on TCP with TLS and a
/// token) and stores their batches.
///
/// Each connection is served by its own task; a bad frame closes that connection
/// with a logged error and an error frame, and leaves every other agent alone.
public struct IngestServer: Service {
    public struct Configuration: Sendable {
        /// Socket path (`ingest.socket`, default `/run/monquery/ingest.sock`).
        public var socketPath: String
        /// Permission bits of the socket file (default 0660).
        public var socketMode: mode_t = 0o660
        /// Largest frame accepted before allocation (default 16 MiB).
        public var maxFrameBytes = WireLimits.defaultMaxFrameBytes
        /// Local users allowed to connect, checked with `SO_PEERCRED` (root and the daemon's
        /// own user always are).
        public var allowList = IngestAllowList()
        /// `ingest.tcp_listen`: remote agents, over TLS, each presenting a token.
        public var tcp: TCPListener?

        public init(socketPath: String) { self.socketPath = socketPath }
    }

    /// The TCP listener for remote agents: TLS is required, and so is a token in HELLO.
    public struct TCPListener: Sendable {
        public var host: String
        public var port: Int
        public var tokens: IngestTokens
        /// The TLS server handler (MonTLS), first in every connection's pipeline.
        public var security: ChannelSecurity
        /// `ingest.tcp_handshake_timeout_seconds`: TLS and HELLO must be done by then.
        public var handshakeTimeoutSeconds = 10
        /// `ingest.tcp_max_connections`: connections served at once; more are closed at once.
        public var maxConnections = 256

        public init(host: String, port: Int, tokens: IngestTokens, security: @escaping ChannelSecurity) {
            self.host = host
            self.port = port
            self.tokens = tokens
            self.security = security
        }
    }

    let configuration: Configuration
    /// TCP connections being served (for `maxConnections`).
    private let remoteConnections = Gauge()
    let writer: IngestWriter
    let stats: IngestStats
    let logger: Logger

    public init(configuration: Configuration, writer: IngestWriter, stats: IngestStats, logger: Logger) {
        self.configuration = configuration
        self.writer = writer
        self.stats = stats
        self.logger = logger
    }

    public func run() async throws {
        let path = configuration.socketPath
        try SocketDirectory.prepare(forSocket: path)
        let maxFrame = configuration.maxFrameBytes
        let local = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.addFraming(channel, maxFrame: maxFrame)
                }.flatMap {
                    PeerCredentials.of(channel)
                }.flatMapThrowing { peer in
                    Connection(
                        channel: try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel),
                        origin: .local(peer))
                }
            }
        chmod(path, configuration.socketMode)
        logger.info("ingest socket listening", metadata: ["socket": "\(path)"])
        let remote = try await configuration.tcp.asyncMap { try await bindTCP($0, maxFrame: maxFrame) }
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    if let remote { group.addTask { try await self.acceptAll(remote) } }
                    try await self.acceptAll(local)
                }
            }
        } catch is CancellationError {
            // A graceful shutdown cancels the accept loops: the normal way out.
        }
        unlink(path)
    }

    /// The TCP listener for remote agents: TLS first in every pipeline.
    private func bindTCP(_ tcp: TCPListener, maxFrame: Int) async throws -> NIOAsyncChannel<Connection, Never> {
        let security = tcp.security
        let timeout = TimeAmount.seconds(Int64(tcp.handshakeTimeoutSeconds))
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: tcp.host, port: tcp.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try security(channel)
                    try Self.addFraming(channel, maxFrame: maxFrame)
                    // Until HELLO is answered, the connection is on a clock: a peer that never
                    // finishes TLS or never speaks would otherwise hold a descriptor and a task forever.
                    let handshake = Handshake()
                    channel.eventLoop.scheduleTask(in: timeout) {
                        if handshake.expire() { channel.close(promise: nil) }
                    }
                    return Connection(
                        channel: try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel),
                        origin: .remote(channel.remoteAddress.map { "\($0)" } ?? "an unknown address"),
                        handshake: handshake)
                }
            }
        logger.info("ingest TCP listening (TLS, token required)", metadata: ["listen": "\(tcp.host):\(tcp.port)"])
        return server
    }

    private static func addFraming(_ channel: any Channel, maxFrame: Int) throws {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrame)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
    }

    private func acceptAll(_ server: NIOAsyncChannel<Connection, Never>) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.accept(connection) }
                }
            }
        }
    }

    /// An accepted connection and who opened it.
    struct Connection: Sendable {
        enum Origin: Sendable {
            /// The Unix socket: the kernel's word on the peer (`SO_PEERCRED`), when it gave it.
            case local(PeerCredentials?)
            /// TCP: the peer's address; it proves who it is with a token in HELLO.
            case remote(String)
        }

        var channel: NIOAsyncChannel<Frame, Frame>
        var origin: Origin
        /// TCP: the handshake deadline, settled by HELLO or by the timer.
        var handshake: Handshake? = nil
    }

    final class Gauge: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Who got there first: the agent's HELLO (`complete`) or the timeout (`expire`).
    final class Handshake: Sendable {
        private enum State: UInt8, AtomicRepresentable { case pending, done, expired }
        private let state = Atomic<State>(.pending)

        /// True when the deadline had not passed yet.
        @discardableResult func complete() -> Bool {
            state.compareExchange(expected: .pending, desired: .done, ordering: .acquiringAndReleasing).exchanged
        }

        /// True when HELLO had not come yet (so the connection is to be closed).
        func expire() -> Bool {
            state.compareExchange(expected: .pending, desired: .expired, ordering: .acquiringAndReleasing).exchanged
        }

        var expired: Bool { state.load(ordering: .acquiring) == .expired }
    }

    private func accept(_ connection: Connection) async {
        guard case .local(let credentials) = connection.origin else {
            if case .remote(let address) = connection.origin, let tcp = configuration.tcp {
                await serveRemote(connection, address: address, tcp: tcp)
            }
            return
        }
        guard let peer = credentials, configuration.allowList.allows(peer) else {
            await stats.connectionRefused()
            let who = credentials.map(\.description) ?? "a peer whose credentials could not be read"
            logger.warning(
                "refusing ingest connection: the user is not in ingest.allowed_users or ingest.allowed_groups",
                metadata: ["peer": "\(who)"])
            try? await connection.channel.executeThenClose { _, outbound in
                try await outbound.write(
                    WireMessage.error(WireError(.forbidden, "this user may not send batches to monquery")).frame())
            }
            return
        }
        await serve(connection.channel, peer: peer.description, tokens: nil)
    }

    /// A TCP connection, within `maxConnections`; one that ends without HELLO because its
    /// handshake time ran out is logged and counted as refused.
    private func serveRemote(_ connection: Connection, address: String, tcp: TCPListener) async {
        let serving = remoteConnections.value.wrappingAdd(1, ordering: .relaxed).newValue
        defer { remoteConnections.value.wrappingSubtract(1, ordering: .relaxed) }
        guard serving <= tcp.maxConnections else {
            connection.handshake?.complete()
            await stats.connectionRefused()
            logger.warning(
                "refusing ingest connection: ingest.tcp_max_connections reached",
                metadata: ["peer": "\(address)", "max_connections": "\(tcp.maxConnections)"])
            try? await connection.channel.executeThenClose { _, _ in }
            return
        }
        await serve(
            connection.channel, peer: "remote \(address)", tokens: tcp.tokens, handshake: connection.handshake)
        if connection.handshake?.expired == true {
            await stats.connectionRefused()
            logger.warning(
                "closed ingest connection: no TLS handshake and HELLO within ingest.tcp_handshake_timeout_seconds",
                metadata: ["peer": "\(address)", "timeout_seconds": "\(tcp.handshakeTimeoutSeconds)"])
        }
    }

    private func serve(
        _ connection: NIOAsyncChannel<Frame, Frame>, peer: String, tokens: IngestTokens?, handshake: Handshake? = nil
    ) async {
        await stats.connectionOpened()
        var session = IngestSession(tokens: tokens)
        var agentLabel = "unidentified agent (\(peer))"
        var identified: AgentIdentity?
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await frame in inbound {
                    let message: WireMessage
                    do throws(WireError) {
                        message = try WireMessage(frame: frame)
                    } catch {
                        try await reject(error, agent: agentLabel, outbound: outbound)
                        return
                    }
                    switch session.receive(message) {
                    case .welcome(let agent):
                        // Too late: the timer has closed the connection already.
                        if let handshake, !handshake.complete() { return }
                        agentLabel = "agent \(agent.agentID) (host \(agent.host))"
                        identified = agent
                        let last = try await writer.lastStoredSeq(agentID: agent.agentID, bootID: agent.bootID)
                        try await outbound.write(WireMessage.welcome(.init(lastAckedSeq: last)).frame())
                        await stats.agentConnected(agent)
                        logger.info(
                            "agent connected",
                            metadata: ["agent": "\(agent.agentID)", "host": "\(agent.host)", "last_seq": "\(last)"]
                        )
                    case .store(let batch, let agent):
                        if batch.droppedOnDecode > 0 {
                            logger.warning(
                                "storing batch without its inconsistent histograms (counted as rejected)",
                                metadata: [
                                    "agent": "\(agent.agentID)", "seq": "\(batch.seq)",
                                    "dropped": "\(batch.droppedOnDecode)",
                                ])
                        }
                        let started = ContinuousClock.now
                        await stats.storeStarted()
                        let outcome: IngestWriter.Outcome
                        do {
                            outcome = try await writer.store(batch, from: agent, nowMs: WallClock.nowMs())
                        } catch {
                            await stats.storeFailed()
                            logger.error(
                                "cannot store batch, closing so the agent retries",
                                metadata: ["agent": "\(agent.agentID)", "seq": "\(batch.seq)", "error": "\(error)"]
                            )
                            try await outbound.write(
                                WireMessage.error(WireError(.storageUnavailable, "storage unavailable")).frame()
                            )
                            return
                        }
                        try await outbound.write(WireMessage.ack(seq: batch.seq).frame())
                        await stats.batchStored(
                            agent, batch: batch, outcome: outcome, duration: started.duration(to: .now))
                    case .reject(let error):
                        if error.code == WireError.Code.forbidden.rawValue { await stats.connectionRefused() }
                        try await reject(error, agent: agentLabel, outbound: outbound)
                        return
                    }
                }
            }
        } catch {
            logger.warning("closing ingest connection", metadata: ["peer": "\(agentLabel)", "error": "\(error)"])
        }
        await stats.connectionClosed(identified)
    }

    private func reject(_ error: WireError, agent: String, outbound: NIOAsyncChannelOutboundWriter<Frame>) async throws
    {
        logger.warning(
            "rejecting ingest message, closing connection", metadata: ["peer": "\(agent)", "error": "\(error)"])
        try await outbound.write(WireMessage.error(error).frame())
    }
}

/// Creates the socket's parent directory (mode 0750) when it is missing.
enum SocketDirectory {
    static func prepare(forSocket path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let directory = String(path[..<slash])
        var info = stat()
        if stat(directory, &info) == 0 { return }
        var built = ""
        for component in directory.split(separator: "/") {
            built += "/" + component
            if stat(built, &info) != 0, mkdir(built, 0o750) != 0, errno != EEXIST {
                throw ConfigError(key: "ingest.socket", message: "cannot create directory \(built): errno \(errno)")
            }
        }
    }
}

/// Milliseconds since the Unix epoch from the realtime clock.
extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

public enum WallClock {
    public static func nowMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
