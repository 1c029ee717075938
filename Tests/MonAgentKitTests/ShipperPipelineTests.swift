import Foundation
import Glibc
import Logging
import NIOCore
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The shipper with two batches in flight against a daemon scripted on a Unix socket
/// (blocking calls on its own thread): the second batch leaves before the first ACK, and a
/// daemon that dies with both unacked gets, on the next connection, what its WELCOME says it
/// lacks, oldest first, once.
@Suite struct ShipperPipelineTests {
    /// One side of the ingest protocol with blocking socket calls.
    final class ScriptedDaemon: @unchecked Sendable {
        let path: String
        private let listener: Int32

        init() throws {
            path = NSTemporaryDirectory() + "shipper-pipeline-\(UInt32.random(in: 0...UInt32.max)).sock"
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard listener >= 0, bound == 0, listen(listener, 4) == 0 else {
                throw POSIXError(.EADDRINUSE)
            }
        }

        deinit {
            close(listener)
            unlink(path)
        }

        func accept() -> Connection { Connection(descriptor: Glibc.accept(listener, nil, nil)) }

        struct Connection {
            let descriptor: Int32
            private var buffer = ByteBuffer()
            private var decoder = FrameDecoder()

            init(descriptor: Int32) { self.descriptor = descriptor }

            /// The next message, nil once the agent closed.
            mutating func read() -> WireMessage? {
                while true {
                    if let frame = try? decoder.decodeFrame(&buffer) { return try? WireMessage(frame: frame) }
                    var chunk = [UInt8](repeating: 0, count: 64 << 10)
                    let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                    guard count > 0 else { return nil }
                    buffer.writeBytes(chunk[0..<count])
                }
            }

            func write(_ message: WireMessage) {
                var out = ByteBuffer()
                FrameEncoder.write(message.frame(), to: &out)
                let bytes = Array(out.readableBytesView)
                _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            }

            func close() { Glibc.close(descriptor) }
        }
    }

    /// The seqs of the batches read, in order, until `count` were read.
    static func batches(_ connection: inout ScriptedDaemon.Connection, _ count: Int) -> [UInt64] {
        var seqs: [UInt64] = []
        while seqs.count < count, let message = connection.read() {
            if case .batch(let batch) = message { seqs.append(batch.seq) }
        }
        return seqs
    }

    static func batch(_ value: Double) -> Batch {
        Batch(seq: 0, createdMs: 1_000, samples: [Sample("m", value: value, timestampMs: 1_000)])
    }

    @Test(
        "The daemon dies with two batches unacked: the next WELCOME says what it stored, the rest goes again once",
        .timeLimit(.minutes(1)))
    func daemonDiesWithTwoBatchesUnacked() async throws {
        let daemon = try ScriptedDaemon()
        let directory = NSTemporaryDirectory() + "shipper-pipeline-\(UInt32.random(in: 0...UInt32.max))"
        let queue = try SpoolBatchQueue(
            config: SpoolConfig(directory: directory, fsync: false), logger: Logger(label: "test"))
        for value in 1...3 { await queue.enqueue(Self.batch(Double(value))) }
        // Script, on its own thread: first connection WELCOME(0), both batches 1 and 2 read
        // before any ACK (the pipeline), then the daemon dies having stored batch 1 only; the
        // second connection says so (WELCOME(1)) and acks what comes.
        let script: @Sendable () -> (first: [UInt64], second: [UInt64]) = {
            var first = daemon.accept()
            _ = first.read()
            first.write(.welcome(.init(lastAckedSeq: 0)))
            let firstSeqs = Self.batches(&first, 2)
            first.close()
            var second = daemon.accept()
            _ = second.read()
            second.write(.welcome(.init(lastAckedSeq: 1)))
            var secondSeqs: [UInt64] = []
            for _ in 0..<2 {
                let seqs = Self.batches(&second, 1)
                secondSeqs += seqs
                for seq in seqs { second.write(.ack(seq: seq)) }
            }
            // Nothing more may come: the agent has nothing left (closed below by the test).
            return (firstSeqs, secondSeqs)
        }
        var configuration = Shipper.Configuration(
            socketPath: daemon.path, identity: AgentIdentity(agentID: "a", host: "h", bootID: queue.bootID))
        configuration.backoffInitial = 0.01
        configuration.backoffMaximum = 0.05
        #expect(configuration.maxInFlight == 2)
        let shipper = Shipper(configuration: configuration, queue: queue, logger: Logger(label: "test"))
        let running = Task { try await shipper.run() }
        // The blocking script runs on a thread of its own, not on the concurrency pool.
        let seen = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: script()) }.start()
        }
        #expect(seen.first == [1, 2], "batch 2 left before any ACK")
        #expect(seen.second == [2, 3], "batch 1 was stored: not sent again; 2 and 3 once each")
        for _ in 0..<500 where await queue.depth > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await queue.depth == 0)
        running.cancel()
        _ = await running.result
        try? FileManager.default.removeItem(atPath: directory)
    }
}
