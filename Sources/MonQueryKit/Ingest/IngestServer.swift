import Glibc
import Logging
import MonCore
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
        /// Largest frame accepted before allocation (default 16 MiB); until HELLO is answered,
        /// `WireLimits.handshakeMaxFrameBytes` (8 KiB).
        public var maxFrameBytes = WireLimits.defaultMaxFrameBytes
        /// Local users allowed to connect, checked with `SO_PEERCRED` (root and the daemon's
        /// own user always are), and the hosts each may write.
        public var allowList = IngestAllowList()
        /// `ingest.socket_max_connections`: Unix socket connections served at once; more are
        /// closed at once (default 1024).
        public var socketMaxConnections = 1024
        /// `ingest.socket_handshake_timeout_seconds`: HELLO must come by then (default 10).
        public var socketHandshakeTimeoutSeconds = 10
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
    private let remoteConnections = ConnectionGauge()
    /// Unix socket connections being served (for `socketMaxConnections`).
    private let localConnections = ConnectionGauge()
    /// Where batches are stored: each host's on its own writer of the pool, in arrival order.
    let writers: IngestWriterPool
    let stats: IngestStats
    let logger: Logger

    public init(configuration: Configuration, writers: IngestWriterPool, stats: IngestStats, logger: Logger) {
        self.configuration = configuration
        self.writers = writers
        self.stats = stats
        self.logger = logger
    }

    public func run() async throws {
        let path = configuration.socketPath
        try SocketDirectory.prepare(forSocket: path)
        let maxFrame = configuration.maxFrameBytes
        let timeout = TimeAmount.seconds(Int64(configuration.socketHandshakeTimeoutSeconds))
        let local = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.addFraming(channel, maxFrame: maxFrame)
                }.flatMap { limit in
                    PeerCredentials.of(channel).map { (limit, $0) }
                }.flatMapThrowing { limit, peer in
                    Connection(
                        channel: try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel),
                        origin: .local(peer), limit: limit, handshake: Self.startClock(channel, timeout))
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
                    let limit = try Self.addFraming(channel, maxFrame: maxFrame)
                    return Connection(
                        channel: try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel),
                        origin: .remote(channel.remoteAddress.map { "\($0)" } ?? "an unknown address"),
                        limit: limit, handshake: Self.startClock(channel, timeout))
                }
            }
        logger.info("ingest TCP listening (TLS, token required)", metadata: ["listen": "\(tcp.host):\(tcp.port)"])
        return server
    }

    /// The frame codec, with the connection's limit: a few KiB until HELLO is answered.
    private static func addFraming(_ channel: any Channel, maxFrame: Int) throws -> FrameLimit {
        let limit = FrameLimit(maxFrameBytes: maxFrame)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        return limit
    }

    /// Until HELLO is answered, a connection is on a clock: a peer that never finishes TLS or
    /// never speaks would otherwise hold a descriptor and a task forever.
    private static func startClock(_ channel: any Channel, _ timeout: TimeAmount) -> Handshake {
        let handshake = Handshake()
        channel.eventLoop.scheduleTask(in: timeout) {
            if handshake.expire() { channel.close(promise: nil) }
        }
        return handshake
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
        /// The decoder's limit, raised when HELLO is answered.
        var limit: FrameLimit
        /// The handshake deadline, settled by HELLO or by the timer.
        var handshake: Handshake
    }

    final class ConnectionGauge: Sendable {
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
        let serving = localConnections.value.wrappingAdd(1, ordering: .relaxed).newValue
        defer { localConnections.value.wrappingSubtract(1, ordering: .relaxed) }
        let who = credentials.map(\.description) ?? "a peer whose credentials could not be read"
        guard serving <= configuration.socketMaxConnections else {
            await refuseOverCap(
                connection, peer: who, key: "ingest.socket_max_connections", max: configuration.socketMaxConnections)
            return
        }
        guard let peer = credentials, let scope = configuration.allowList.scope(for: peer) else {
            connection.handshake.complete()
            await stats.connectionRefused(.user)
            logger.warning(
                "refusing ingest connection: the user is not in ingest.allowed_users or ingest.allowed_groups",
                metadata: ["peer": "\(who)"])
            try? await connection.channel.executeThenClose { _, outbound in
                try await outbound.write(
                    WireMessage.error(WireError(.forbidden, "this user may not send batches to monquery")).frame())
            }
            return
        }
        await serve(connection, peer: peer.description, tokens: nil, scope: scope)
        if connection.handshake.expired {
            await stats.connectionRefused(.handshake)
            logger.warning(
                "closed ingest connection: no HELLO within ingest.socket_handshake_timeout_seconds",
                metadata: ["peer": "\(who)", "timeout_seconds": "\(configuration.socketHandshakeTimeoutSeconds)"])
        }
    }

    /// A TCP connection, within `maxConnections`; one that ends without HELLO because its
    /// handshake time ran out is logged and counted as refused.
    private func serveRemote(_ connection: Connection, address: String, tcp: TCPListener) async {
        let serving = remoteConnections.value.wrappingAdd(1, ordering: .relaxed).newValue
        defer { remoteConnections.value.wrappingSubtract(1, ordering: .relaxed) }
        guard serving <= tcp.maxConnections else {
            await refuseOverCap(connection, peer: address, key: "ingest.tcp_max_connections", max: tcp.maxConnections)
            return
        }
        await serve(connection, peer: "remote \(address)", tokens: tcp.tokens, scope: .any)
        if connection.handshake.expired {
            await stats.connectionRefused(.handshake)
            logger.warning(
                "closed ingest connection: no TLS handshake and HELLO within ingest.tcp_handshake_timeout_seconds",
                metadata: ["peer": "\(address)", "timeout_seconds": "\(tcp.handshakeTimeoutSeconds)"])
        }
    }

    /// Closes a connection over `key`'s cap at once, logged and counted.
    private func refuseOverCap(_ connection: Connection, peer: String, key: String, max: Int) async {
        connection.handshake.complete()
        await stats.connectionRefused(.connections)
        logger.warning(
            "refusing ingest connection: \(key) reached", metadata: ["peer": "\(peer)", "max_connections": "\(max)"])
        try? await connection.channel.executeThenClose { _, _ in }
    }

    /// One connection from HELLO to its end. `scope`: the hosts a local peer may write (a
    /// remote one's come from its token).
    private func serve(_ connection: Connection, peer: String, tokens: IngestTokens?, scope: HostScope) async {
        await stats.connectionOpened()
        var session = IngestSession(tokens: tokens, localScope: scope)
        var agentLabel = "unidentified agent (\(peer))"
        var identified: AgentIdentity?
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                // A batch is stored while the next frame is read, decoded and its log lines
                // encoded (the agent keeps two on the wire), so PostgreSQL does not wait for
                // that work. Before the next store or any other message, the one in flight is
                // awaited: ACKs go out in order, and after a failed store nothing later of this
                // connection is stored.
                try await withThrowingTaskGroup(of: Bool.self) { storing in
                    var inFlight = false
                    for try await frame in inbound {
                        let action = session.receive(frame: frame)
                        let prepared: IngestWriter.PreparedLogs? =
                            if case .store(let batch, let agent) = action, !batch.logs.isEmpty {
                                IngestWriter.PreparedLogs(batch.logs, host: agent.host)
                            } else {
                                nil
                            }
                        if inFlight {
                            inFlight = false
                            guard try await storing.next() ?? true else { return }
                        }
                        switch action {
                        case .welcome(let agent):
                            // Too late: the timer has closed the connection already.
                            guard connection.handshake.complete() else { return }
                            if let refusal = try await bind(agent, session: session, peer: peer) {
                                try await outbound.write(WireMessage.error(refusal).frame())
                                return
                            }
                            agentLabel = "agent \(agent.agentID) (host \(agent.host))"
                            identified = agent
                            let last = try await writers.writer(forHost: agent.host).lastStoredSeq(
                                agentID: agent.agentID, bootID: agent.bootID)
                            session.welcomed(lastStoredSeq: last)
                            connection.limit.raise()
                            try await outbound.write(WireMessage.welcome(.init(lastAckedSeq: last)).frame())
                            await stats.agentConnected(agent)
                            logger.info(
                                "agent connected",
                                metadata: [
                                    "agent": "\(agent.agentID)", "host": "\(agent.host)", "last_seq": "\(last)",
                                    "version": "\(agent.version ?? "unknown")",
                                ]
                            )
                        case .store(let batch, let agent):
                            let payload = frame.payload
                            storing.addTask {
                                try await store(
                                    batch, prepared: prepared, from: agent, payload: payload, outbound: outbound)
                            }
                            inFlight = true
                        case .quarantine(let batch):
                            guard try await quarantine(batch, afterStore: false, outbound: outbound) else { return }
                        case .reject(let error):
                            try await reject(error, agent: agentLabel, outbound: outbound)
                            return
                        case .refuse(let error, let reason):
                            await stats.connectionRefused(reason)
                            logger.warning(
                                "refusing ingest connection",
                                metadata: [
                                    "peer": "\(peer)", "reason": "\(reason.rawValue)", "error": "\(error)",
                                    "allowed_hosts": "\(session.scope?.description ?? "-")",
                                ])
                            try await outbound.write(WireMessage.error(error).frame())
                            return
                        }
                    }
                    if inFlight { _ = try await storing.next() }
                }
            }
        } catch {
            if let decoding = error as? FrameDecoderError, decoding.code == .frameTooLarge, identified == nil {
                await stats.connectionRefused(.frame)
            }
            logger.warning("closing ingest connection", metadata: ["peer": "\(agentLabel)", "error": "\(error)"])
        }
        await stats.connectionClosed(identified)
    }

    /// Binds the agent id to the announced host; the error to refuse HELLO with, or nil.
    private func bind(_ agent: AgentIdentity, session: IngestSession, peer: String) async throws -> WireError? {
        let message: String
        switch try await writers.writer(forHost: agent.host).bindAgent(agent, mayRebind: session.scope == .any) {
        case .bound:
            return nil
        case .rebound(let previous):
            logger.warning(
                "agent id moved to another host",
                metadata: ["agent": "\(agent.agentID)", "from_host": "\(previous)", "host": "\(agent.host)"])
            return nil
        case .boundElsewhere(let host):
            message = "agent id '\(agent.agentID)' is bound to host '\(host)', not '\(agent.host)'"
        case .tooManyAgents:
            message = "host '\(agent.host)' has \(IngestWriter.maxAgentsPerHost) agent ids already"
        }
        await stats.connectionRefused(.agent)
        logger.warning(
            "refusing ingest connection",
            metadata: [
                "peer": "\(peer)", "reason": "agent", "error": "\(message)", "agent": "\(agent.agentID)",
                "host": "\(agent.host)",
            ])
        return WireError(.forbidden, message)
    }

    /// Stores a batch and ACKs it; a permanent PostgreSQL error quarantines it (and ACKs).
    /// False when the connection must close (storage unavailable: the agent retries).
    private func store(
        _ received: Batch, prepared: IngestWriter.PreparedLogs? = nil, from agent: AgentIdentity, payload: ByteBuffer,
        outbound: NIOAsyncChannelOutboundWriter<Frame>
    ) async throws -> Bool {
        var batch = received
        let nowMs = WallClock.nowMs()
        batch.createdMs = IngestLimits.plausibleCreatedMs(batch.createdMs, nowMs: nowMs)
        let started = ContinuousClock.now
        await stats.storeStarted()
        let stored: (outcome: IngestWriter.Outcome, dropped: IngestDrops)
        do {
            stored = try await writers.writer(forHost: agent.host).storeCounting(
                batch, from: agent, nowMs: nowMs, prepared: prepared)
        } catch let error as PostgresError where error.isPermanent {
            let quarantined = QuarantinedBatch(
                agent: agent, seq: batch.seq, reason: "PostgreSQL refused the batch: \(error)", payload: payload,
                inLedger: true)
            return try await quarantine(quarantined, afterStore: true, outbound: outbound)
        } catch {
            await stats.storeFailed()
            logger.error(
                "cannot store batch, closing so the agent retries",
                metadata: ["agent": "\(agent.agentID)", "seq": "\(batch.seq)", "error": "\(error)"]
            )
            try await outbound.write(WireMessage.error(WireError(.storageUnavailable, "storage unavailable")).frame())
            return false
        }
        if !stored.dropped.isEmpty {
            await stats.batchDropped(stored.dropped)
            let reasons = stored.dropped.counts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }
            logger.warning(
                "stored batch without the samples or records it could not take (counted)",
                metadata: [
                    "agent": "\(agent.agentID)", "seq": "\(batch.seq)", "dropped": "\(reasons.joined(separator: " "))",
                ])
        }
        try await outbound.write(WireMessage.ack(seq: batch.seq).frame())
        await stats.batchStored(agent, batch: batch, outcome: stored.outcome, duration: started.duration(to: .now))
        return true
    }

    /// Keeps a batch in `rejected_batches` and ACKs it; false when that failed (the
    /// connection closes, the agent retries).
    private func quarantine(
        _ batch: QuarantinedBatch, afterStore: Bool, outbound: NIOAsyncChannelOutboundWriter<Frame>
    ) async throws -> Bool {
        let metadata: Logger.Metadata = [
            "agent": "\(batch.agent.agentID)", "host": "\(batch.agent.host)", "seq": "\(batch.seq)",
            "reason": "\(batch.reason.prefix(IngestStats.maxReasonCharacters))",
        ]
        do {
            if try await writers.writer(forHost: batch.agent.host).quarantine(batch) {
                logger.error(
                    "quarantined a batch that cannot be stored (rejected_batches); acking it", metadata: metadata)
                await stats.batchQuarantined(batch.agent, reason: batch.reason, afterStore: afterStore)
            } else if afterStore {
                await stats.storeFailed()
            }
        } catch {
            if afterStore { await stats.storeFailed() }
            logger.error(
                "cannot quarantine batch, closing so the agent retries",
                metadata: metadata.merging(["error": "\(error)"]) { $1 })
            try await outbound.write(WireMessage.error(WireError(.storageUnavailable, "storage unavailable")).frame())
            return false
        }
        try await outbound.write(WireMessage.ack(seq: batch.seq).frame())
        return true
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
