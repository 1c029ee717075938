import CDatagram
import Foundation
import Logging
import MonCore
import ServiceLifecycle
import Synchronization

/// Receives StatsD datagrams on UDP (and optionally a Unix datagram socket). Each socket
/// is read by a thread of its own with `recvmmsg(2)`: up to `DatagramReceiver.batch`
/// datagrams per call, handed to the aggregator under one lock acquisition.
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

    /// A datagram as the aggregator gets it: one that filled the buffer was cut by the
    /// kernel, so only its complete lines are kept (and the caller counts it as truncated).
    static func complete(_ bytes: UnsafeRawBufferPointer) -> (bytes: UnsafeRawBufferPointer, truncated: Bool) {
        guard bytes.count >= datagramCapacity else { return (bytes, false) }
        let end = bytes.lastIndex(of: 0x0A) ?? 0
        return (UnsafeRawBufferPointer(rebasing: bytes[..<end]), true)
    }

    public func run() async throws {
        var receivers: [DatagramReceiver] = []
        var backoff = Backoff(initial: 1, maximum: 60)
        var udpPending = config.address
        var unixPending = config.socketPath
        while udpPending != nil || unixPending != nil, !Task.isCancelled, !Task.isShuttingDownGracefully {
            if let address = udpPending {
                let name = "udp \(address.host):\(address.port)"
                do {
                    let socket = try DatagramSocket.udp(
                        host: address.host, port: address.port, receiveBuffer: config.receiveBufferBytes)
                    receivers.append(DatagramReceiver(socket, name: "statsd-udp", aggregator: aggregator))
                    udpPending = nil
                    listening(name, socket)
                } catch {
                    bindFailed(name, error)
                }
            }
            if let path = unixPending {
                do {
                    let socket = try DatagramSocket.unix(path: path, receiveBuffer: config.receiveBufferBytes)
                    receivers.append(DatagramReceiver(socket, name: "statsd-unix", aggregator: aggregator))
                    unixPending = nil
                    listening("unix \(path)", socket)
                } catch {
                    bindFailed("unix \(path)", error)
                }
            }
            if udpPending != nil || unixPending != nil {
                try? await Task.sleep(for: .milliseconds(Int(backoff.next() * 1000)))
            }
        }
        try? await gracefulShutdown()
        for receiver in receivers { receiver.stop() }
    }

    private func listening(_ name: String, _ socket: DatagramSocket) {
        logger.info(
            "StatsD receiver listening",
            metadata: ["address": "\(name)", "receive_buffer_bytes": "\(socket.receiveBufferBytes)"])
    }

    private func bindFailed(_ name: String, _ error: any Error) {
        logger.error("StatsD receiver cannot listen, retrying", metadata: ["address": "\(name)", "error": "\(error)"])
    }
}

/// A bound datagram socket (UDP or Unix) with its receive buffer set, blocking, without a
/// receive timeout: an idle socket wakes nobody (a stop wakes its reader with `shutdown`).
struct DatagramSocket: Sendable {
    let descriptor: Int32
    /// What the kernel granted (it reports twice what was asked, bookkeeping included).
    let receiveBufferBytes: Int

    /// Binds `host:port` (a name or an address, resolved with getaddrinfo: the first address
    /// that binds wins).
    static func udp(host: String, port: Int, receiveBuffer: Int) throws -> DatagramSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SystemError(what: "resolve \(host)", text: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var failure: any Error = SystemError(what: "resolve \(host)", text: "no address")
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            next = info.pointee.ai_next
            let descriptor = socket(
                info.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                failure = SystemError("socket")
                continue
            }
            guard bind(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                failure = SystemError("bind \(host):\(port)")
                close(descriptor)
                continue
            }
            return DatagramSocket(descriptor, receiveBuffer: receiveBuffer)
        }
        throw failure
    }

    /// Binds a Unix datagram socket at `path` (an old socket file there is removed), mode 0660.
    static func unix(path: String, receiveBuffer: Int) throws -> DatagramSocket {
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket(AF_UNIX)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            close(descriptor)
            throw SystemError(what: "socket path longer than \(capacity - 1) bytes: \(path)", text: nil)
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
        return DatagramSocket(descriptor, receiveBuffer: receiveBuffer)
    }

    /// Sets the receive buffer (`SO_RCVBUF`, capped by the kernel at `net.core.rmem_max`;
    /// when that grants less and the agent may raise it, `SO_RCVBUFFORCE`).
    init(_ descriptor: Int32, receiveBuffer: Int) {
        self.descriptor = descriptor
        var requested = Int32(clamping: receiveBuffer)
        let size = socklen_t(MemoryLayout<Int32>.size)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &requested, size)
        if Self.receiveBuffer(descriptor) < 2 * Int(requested) {
            // Only with CAP_NET_ADMIN; otherwise it fails and the capped size stays.
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &requested, size)
        }
        receiveBufferBytes = Self.receiveBuffer(descriptor)
    }

    private static func receiveBuffer(_ descriptor: Int32) -> Int {
        var granted: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &granted, &length)
        return Int(granted)
    }
}

/// Reads one datagram socket on its own thread and feeds the aggregator: `recvmmsg` fills
/// up to `batch` buffers of `StatsDReceiver.datagramCapacity` bytes per call (they are
/// reserved, not touched: only the pages datagrams land in become resident), and the
/// datagrams of one call go to the aggregator together. A failed read is counted; the
/// socket stays open.
final class DatagramReceiver: Sendable {
    static let batch = 64
    private let descriptor: Int32
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    init(_ socket: DatagramSocket, name: String, aggregator: AppAggregator) {
        descriptor = socket.descriptor
        let fd = descriptor
        let thread = Thread { [self] in
            receive(fd, aggregator)
            close(fd)
            finished.store(true, ordering: .releasing)
        }
        thread.name = name
        thread.start()
    }

    private func receive(_ fd: Int32, _ aggregator: AppAggregator) {
        let count = Self.batch
        let capacity = StatsDReceiver.datagramCapacity
        let storage = UnsafeMutableRawPointer.allocate(byteCount: count * capacity, alignment: 64)
        let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: count)
        let headers = UnsafeMutablePointer<cdatagram_mmsghdr>.allocate(capacity: count)
        defer {
            storage.deallocate()
            vectors.deallocate()
            headers.deallocate()
        }
        for index in 0..<count {
            vectors[index] = iovec(iov_base: storage + index * capacity, iov_len: capacity)
        }
        var datagrams: [UnsafeRawBufferPointer] = []
        datagrams.reserveCapacity(count)
        while !stopped.load(ordering: .relaxed) {
            for index in 0..<count {
                var header = msghdr()
                header.msg_iov = vectors + index
                header.msg_iovlen = 1
                headers[index] = cdatagram_mmsghdr(msg_hdr: header, msg_len: 0)
            }
            let received = Int(cdatagram_recvmmsg(fd, headers, UInt32(count), CDATAGRAM_MSG_WAITFORONE, nil))
            guard received > 0 else {
                // A signal (or a spurious EAGAIN) is not an error; a stop shuts the socket down (0).
                if received < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                    aggregator.count("mon_agent_statsd_receive_errors_total")
                    usleep(10_000)
                }
                continue
            }
            datagrams.removeAll(keepingCapacity: true)
            var truncated = 0.0
            for index in 0..<received {
                let bytes = UnsafeRawBufferPointer(
                    start: storage + index * capacity, count: Int(headers[index].msg_len))
                let datagram = StatsDReceiver.complete(bytes)
                if datagram.truncated { truncated += 1 }
                datagrams.append(datagram.bytes)
            }
            if truncated > 0 { aggregator.count("mon_agent_statsd_truncated_total", by: truncated) }
            aggregator.ingest(datagrams: datagrams)
        }
    }

    /// Whether the reader has stopped and closed the socket.
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Stops the reader and waits (at most a second) until it has closed the socket.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        // Wakes a reader blocked in recvmmsg (it has no timeout): it then reads 0 and sees the stop.
        shutdown(descriptor, CInt(SHUT_RDWR))
        for _ in 0..<100 where !finished.load(ordering: .acquiring) { usleep(10_000) }
    }
}

/// An OS call that failed, with errno's text.
struct SystemError: Error, CustomStringConvertible {
    var description: String
    init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    init(what: String, text: String?) { description = text.map { "\(what): \($0)" } ?? what }
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
