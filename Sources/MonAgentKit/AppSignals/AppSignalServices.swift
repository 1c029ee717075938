import Foundation
import Logging
import MonCore
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Receives StatsD datagrams on UDP (and optionally a Unix datagram socket) and feeds
/// the aggregator on the event loop, without a task hop per datagram.
///
/// A port that cannot be bound is retried with backoff and logged; the rest of the
/// agent keeps running.
public struct StatsDReceiver: Service {
    let config: StatsDConfig
    let aggregator: AppAggregator
    let logger: Logger

    public init(config: StatsDConfig, aggregator: AppAggregator, logger: Logger) {
        self.config = config
        self.aggregator = aggregator
        self.logger = logger
    }

    /// Receive buffer per datagram: above the largest UDP payload (65 507 bytes), so only a
    /// larger Unix datagram can fill it — and is then counted as truncated.
    static let datagramCapacity = 65_536

    /// Hands one datagram to the aggregator; one that filled the buffer was cut by the
    /// kernel: only its complete lines are kept, and it is counted.
    static func deliver(_ bytes: UnsafeRawBufferPointer, to aggregator: AppAggregator) {
        guard bytes.count >= datagramCapacity else {
            aggregator.ingest(datagram: bytes)
            return
        }
        aggregator.count("mon_agent_statsd_truncated_total")
        let end = bytes.lastIndex(of: 0x0A) ?? 0
        aggregator.ingest(datagram: UnsafeRawBufferPointer(rebasing: bytes[..<end]))
    }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let aggregator: AppAggregator

        init(aggregator: AppAggregator) { self.aggregator = aggregator }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = Self.unwrapInboundIn(data)
            envelope.data.withUnsafeReadableBytes { StatsDReceiver.deliver($0, to: aggregator) }
        }

        /// A failed read is counted; the socket stays open.
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            aggregator.count("mon_agent_statsd_receive_errors_total")
        }
    }

    func bootstrap() -> DatagramBootstrap {
        let aggregator = aggregator
        return DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(config.receiveBufferBytes))
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramCapacity))
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(aggregator: aggregator))
                }
            }
    }

    public func run() async throws {
        var channel: (any Channel)? = nil
        var unixReceiver: UnixDatagramReceiver? = nil
        var backoff = Backoff(initial: 1, maximum: 60)
        var udpPending = config.address
        var unixPending = config.socketPath
        while udpPending != nil || unixPending != nil, !Task.isCancelled, !Task.isShuttingDownGracefully {
            if let address = udpPending {
                let name = "udp \(address.host):\(address.port)"
                do {
                    channel = try await bootstrap().bind(host: address.host, port: address.port).get()
                    udpPending = nil
                    logger.info("StatsD receiver listening", metadata: ["address": "\(name)"])
                } catch {
                    bindFailed(name, error)
                }
            }
            if let path = unixPending {
                // NIO's datagram channel does not read AF_UNIX sockets: a thread does.
                do {
                    unixReceiver = try UnixDatagramReceiver(path: path, aggregator: aggregator)
                    unixPending = nil
                    logger.info("StatsD receiver listening", metadata: ["address": "unix \(path)"])
                } catch {
                    bindFailed("unix \(path)", error)
                }
            }
            if udpPending != nil || unixPending != nil {
                try? await Task.sleep(for: .milliseconds(Int(backoff.next() * 1000)))
            }
        }
        try? await gracefulShutdown()
        try? await channel?.close()
        unixReceiver?.stop()
    }

    private func bindFailed(_ name: String, _ error: any Error) {
        logger.error("StatsD receiver cannot listen, retrying", metadata: ["address": "\(name)", "error": "\(error)"])
    }
}

/// Reads a Unix datagram socket on its own thread and feeds the aggregator.
final class UnixDatagramReceiver: Sendable {
    private let descriptor: Int32
    private let stopped = Atomic<Bool>(false)

    init(path: String, aggregator: AppAggregator) throws {
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket(AF_UNIX)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            close(descriptor)
            throw SystemError("socket path longer than \(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let error = SystemError("bind \(path)")
            close(descriptor)
            throw error
        }
        // The application writes here: owner and group only.
        chmod(path, 0o660)
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let fd = descriptor
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: StatsDReceiver.datagramCapacity)
            while !stopped.load(ordering: .relaxed) {
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { continue }
                buffer.withUnsafeBytes { bytes in
                    StatsDReceiver.deliver(UnsafeRawBufferPointer(rebasing: bytes[..<count]), to: aggregator)
                }
            }
            close(fd)
        }
        thread.name = "statsd-unix"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

/// An OS call that failed, with errno's text.
struct SystemError: Error, CustomStringConvertible {
    var description: String
    init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}

/// Flushes the aggregator every interval, on the same wall-clock ticks as the host
/// sampler, as one batch of samples and histograms.
public struct AppFlushService: Service {
    let interval: Double
    let aggregator: AppAggregator
    let queue: any BatchQueue

    public init(interval: Double, aggregator: AppAggregator, queue: any BatchQueue) {
        self.interval = interval
        self.aggregator = aggregator
        self.queue = queue
    }

    public func run() async throws {
        try await PeriodicService(
            name: "app-flush", schedule: .aligned(interval: interval), logger: Logger(label: "monagent.app")
        ) { [aggregator, queue] tick in
            let (samples, histograms) = aggregator.flush(timestampMs: tick.timestampMs)
            let batch = Batch(seq: 0, createdMs: WallClock.nowMs(), samples: samples, histograms: histograms)
            if !batch.isEmpty { await queue.enqueue(batch) }
            return .next
        }.run()
    }
}

/// Per-poll counts of what the log input saw, reported as the agent's own counters.
struct LogCounts {
    var lines = 0.0
    var plain = 0.0
    var invalidUTF8 = 0.0
    var truncated = 0.0
    var redacted = 0.0
    var requests = 0.0

    mutating func add(_ parsed: ParsedLogLine, truncated cut: Bool) {
        lines += 1
        if !parsed.structured { plain += 1 }
        if parsed.invalidUTF8 { invalidUTF8 += 1 }
        if cut { truncated += 1 }
        redacted += Double(parsed.redactions)
        if parsed.request != nil { requests += 1 }
    }

    func report(to aggregator: AppAggregator, _ stats: LogTailer.PollStats) {
        aggregator.count("mon_agent_logs_lines_total", by: lines)
        aggregator.count("mon_agent_logs_plain_lines_total", by: plain)
        aggregator.count("mon_agent_logs_invalid_utf8_total", by: invalidUTF8)
        aggregator.count("mon_agent_logs_truncated_lines_total", by: truncated)
        aggregator.count("mon_agent_logs_redactions_total", by: redacted)
        aggregator.count("mon_agent_logs_request_events_total", by: requests)
        aggregator.count("mon_agent_logs_rotations_total", by: Double(stats.rotations))
        aggregator.count("mon_agent_logs_truncations_total", by: Double(stats.truncations))
        aggregator.count("mon_agent_logs_read_errors_total", by: Double(stats.readErrors.count))
    }
}
