import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking client of the daemon's ingest socket, speaking the agent's protocol
/// (DESIGN §6, Sources/MonCore/Wire, Agent/Shipper.swift): HELLO → WELCOME, BATCH → ACK.
final class IngestClient {
    private let fd: Int32
    private var inbound = ByteBuffer()
    private var decoder = FrameDecoder()

    init(socketPath: String, timeoutSeconds: Int) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UsageError("socket(): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw UsageError("socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            throw UsageError("connect(\(socketPath)): errno \(error)")
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Writes one message; returns the frame's size on the wire.
    @discardableResult
    func send(_ message: WireMessage) throws -> Int {
        var out = ByteBuffer()
        FrameEncoder.write(message.frame(), to: &out)
        let size = out.readableBytes
        try out.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw UsageError("write to the ingest socket: errno \(errno)") }
                offset += written
            }
        }
        return size
    }

    /// Reads until one whole frame has arrived; an ERROR frame is thrown.
    func receive() throws -> WireMessage {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let frame = try decoder.decodeFrame(&inbound) {
                let message = try WireMessage(frame: frame)
                if case .error(let error) = message { throw UsageError("the daemon answered with an error: \(error)") }
                return message
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw UsageError(count == 0 ? "the daemon closed the connection" : "read: errno \(errno) (timeout?)")
            }
            inbound.writeBytes(chunk[0..<count])
        }
    }
}

struct PushReport: Codable {
    struct HostBatch: Codable {
        var host: String
        var samples: Int
        var histograms: Int
        var frameBytes: Int
        /// From writing the BATCH frame to reading its ACK (the daemon stored it in PostgreSQL).
        var ackMs: Double
    }

    var command = "push"
    var series: Int
    var valueSeries: Int
    var histogramSeries: Int
    var hosts: Int
    var timestampMs: Int64
    var totalMs: Double
    var batches: [HostBatch]
}

enum PushCommand {
    static func run(_ options: Options) throws {
        guard let socketPath = options.string("socket") else { throw UsageError("push needs --socket PATH") }
        let series = try options.int("series", default: 10_000)
        let hostCount = try options.int("hosts", default: 10)
        let observations = try options.int("observations", default: 300)
        let timeout = try options.int("timeout", default: 300)
        try options.finish()

        let clock = ContinuousClock()
        let started = clock.now
        let nowMs = WallClock.nowMs()
        // The same series as `render --series N` (same seed), stamped now so the cache keeps them.
        let set = SeriesSet(
            series: series, hostCount: hostCount, observations: observations, seed: 42, timestampMs: nowMs)
        let bootID = UUID().uuidString.lowercased()
        var batches: [PushReport.HostBatch] = []
        for (index, host) in set.hosts.enumerated() {
            let part = set.parts[index]
            let client = try IngestClient(socketPath: socketPath, timeoutSeconds: timeout)
            // One agent per host, as in production; a new boot id per run, so seq 1 is new.
            try client.send(.hello(.init(agentID: "mon-bench-\(host)", host: host, bootID: bootID)))
            guard case .welcome(let welcome) = try client.receive() else {
                throw UsageError("expected WELCOME from the daemon")
            }
            let seq = welcome.lastAckedSeq + 1
            let batch = Batch(
                seq: seq, createdMs: WallClock.nowMs(), samples: part.samples, histograms: part.histograms)
            let sendStart = clock.now
            let frameBytes = try client.send(.batch(batch))
            guard case .ack(let acked) = try client.receive(), acked == seq else {
                throw UsageError("expected ACK \(seq) from the daemon")
            }
            batches.append(
                .init(
                    host: host, samples: part.samples.count, histograms: part.histograms.count,
                    frameBytes: frameBytes, ackMs: sendStart.duration(to: clock.now).milliseconds))
        }
        try printJSON(
            PushReport(
                series: series, valueSeries: set.sampleCount, histogramSeries: set.histogramCount,
                hosts: set.hosts.count, timestampMs: nowMs, totalMs: started.duration(to: clock.now).milliseconds,
                batches: batches))
    }
}
