import Glibc
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The StatsD socket reader (`recvmmsg` batches) on one end of a Unix datagram socket pair.
@Suite struct DatagramReceiverTests {
    @Test func batchesAreReadCountedAndCutDatagramsKeepTheirCompleteLines() async throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &pair) == 0)
        defer { close(pair[1]) }
        let aggregator = AppAggregator(config: StatsDConfig())
        let receiver = DatagramReceiver(
            DatagramSocket(pair[0], receiveBuffer: 1 << 20), name: "test-statsd", aggregator: aggregator)
        var bigger = 1 << 20
        setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &bigger, socklen_t(MemoryLayout<Int32>.size))
        // More datagrams than one recvmmsg takes, a multi-line one, one without its last newline,
        // and one larger than the receive buffer (cut after its last complete line).
        var datagrams = (0..<(DatagramReceiver.batch + 36)).map { "n:\($0 % 3)|c" }
        datagrams.append("a:1|c\nb:2|g\r\nbad line\nc:3|ms")
        datagrams.append(String(repeating: "big:1|c\n", count: 9_000))
        for datagram in datagrams {
            let sent = Array(datagram.utf8).withUnsafeBytes { send(pair[1], $0.baseAddress, $0.count, 0) }
            #expect(sent == datagram.utf8.count)
        }
        let wholeBigLines = Double(StatsDReceiver.datagramCapacity / 8)
        let expectedLines = Double(DatagramReceiver.batch + 36) + 4 + wholeBigLines
        var lines = 0.0
        for _ in 0..<500 where lines < expectedLines {
            try await Task.sleep(for: .milliseconds(10))
            lines =
                aggregator.flush(timestampMs: 0).samples.first { $0.name == "mon_agent_statsd_lines_total" }?.value ?? 0
        }
        let flushed = aggregator.flush(timestampMs: 1)
        func value(_ name: String) -> Double? { flushed.samples.first { $0.name == name }?.value }
        #expect(value("mon_agent_statsd_lines_total") == expectedLines)
        #expect(value("mon_agent_statsd_datagrams_total") == Double(datagrams.count))
        #expect(value("mon_agent_statsd_truncated_total") == 1)
        #expect(value("mon_agent_statsd_malformed_total") == 1)
        #expect(value("app_big_total") == wholeBigLines)
        #expect(value("app_n_total") == Double((0..<(DatagramReceiver.batch + 36)).reduce(0) { $0 + $1 % 3 }))
        #expect(value("app_b") == 2)

        // A stop closes the socket: the other end is refused at once.
        receiver.stop()
        let after = Array("late:1|c".utf8).withUnsafeBytes {
            send(pair[1], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
        }
        #expect(after < 0)
    }

    /// An idle StatsD socket wakes nobody: it has no receive timeout (the reader had woken
    /// every 500 ms for nothing), and a stop still wakes the blocked reader, which closes it.
    @Test func anIdleUDPSocketHasNoTimeoutAndAStopWakesItsReader() throws {
        let socket = try DatagramSocket.udp(host: "127.0.0.1", port: 0, receiveBuffer: 1 << 16)
        var timeout = timeval(tv_sec: 7, tv_usec: 7)
        var length = socklen_t(MemoryLayout<timeval>.size)
        #expect(getsockopt(socket.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, &length) == 0)
        #expect(timeout.tv_sec == 0 && timeout.tv_usec == 0)
        let receiver = DatagramReceiver(
            socket, name: "test-statsd-idle", aggregator: AppAggregator(config: StatsDConfig()))
        usleep(50_000)  // the reader is blocked in recvmmsg now
        receiver.stop()
        #expect(receiver.isFinished)
    }
}
