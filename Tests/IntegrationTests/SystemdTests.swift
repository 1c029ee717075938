import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The programs speak systemd's notification protocol (`Type=notify`, `WatchdogSec=`), and
/// the shipped units pass `systemd-analyze verify` and `security` (exposure ≤ 2.0).
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct SystemdTests {
    /// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
    final class NotifySocket: @unchecked Sendable {
        let path: String
        let fd: Int32

        init() throws {
            path = try TestEnvironment.makeDirectory("notify") + "/notify.sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0 else { throw TestFailure("bind \(path): errno \(errno)") }
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        /// Messages received until `predicate` holds for one of them (or `seconds` pass),
        /// waited for off the cooperative pool.
        func receive(until predicate: @escaping @Sendable (String) -> Bool, seconds: Double = 60) async throws
            -> [String]
        {
            try await offPool { self.receiveBlocking(until: predicate, seconds: seconds) }
        }

        func receiveBlocking(until predicate: (String) -> Bool, seconds: Double) -> [String] {
            var messages: [String] = []
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline {
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { continue }
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                messages.append(message)
                if predicate(message) { break }
            }
            return messages
        }

        deinit { close(fd) }
    }

    @Test("monquery and monagent send READY=1 with a status, then WATCHDOG=1 every half WatchdogSec")
    func notifications() async throws {
        let daemon = try Daemon.make()
        let daemonSocket = try NotifySocket()
        let monquery = try ManagedProcess(
            binary: "monquery", arguments: ["serve"],
            environment: [
                "MONQUERY_DATABASE_URL": daemon.databaseURL, "MONQUERY_INGEST_SOCKET": daemon.socketPath,
                "MONQUERY_HTTP_LISTEN": "127.0.0.1:\(daemon.httpPort)", "NOTIFY_SOCKET": daemonSocket.path,
                "WATCHDOG_USEC": "400000",
            ],
            logPath: "\(daemon.directory)/monquery.log")
        defer { monquery.stop() }
        let ready = try await daemonSocket.receive(until: { $0.hasPrefix("READY=1") })
        #expect(ready.last?.contains("STATUS=serving HTTP on 127.0.0.1:\(daemon.httpPort)") == true, "\(ready)")
        let (status, _) = try await daemon.get("/health")
        #expect(status == 200, "READY=1 came once the HTTP server listened")
        let pings = try await daemonSocket.receive(until: { $0 == "WATCHDOG=1" })
        #expect(pings.last == "WATCHDOG=1")

        let agentSocket = try NotifySocket()
        let monagent = try daemon.startAgent(extra: ["NOTIFY_SOCKET": agentSocket.path, "WATCHDOG_USEC": "2000000"])
        let agentReady = try await agentSocket.receive(until: { $0.hasPrefix("READY=1") })
        #expect(agentReady.last?.contains("STATUS=collecting") == true, "\(agentReady)")
        #expect(try await agentSocket.receive(until: { $0 == "WATCHDOG=1" }).last == "WATCHDOG=1")
        // The kernel queues only a few unread datagrams per socket (net.unix.max_dgram_qlen,
        // 10 by default) and the programs never block on a full one (MSG_DONTWAIT, like
        // sd_notify): read what is queued, then stop, so STOPPING=1 finds room.
        _ = try await agentSocket.receive(until: { _ in false }, seconds: 0.3)
        monagent.stop()
        let last = try await agentSocket.receive(until: { $0 == "STOPPING=1" }, seconds: 5)
        #expect(last.last == "STOPPING=1", "\(last)")
    }

    @Test("deploy/systemd units: systemd-analyze verify is clean and security exposure ≤ 2.0")
    func unitsVerify() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["MON_BIN_DIR"] = TestEnvironment.binDirectory
        let (status, report) = try await runProgram("deploy/systemd/verify", environment: environment)
        #expect(status == 0, "\(report)")
        #expect(report.contains("monagent.service: ok") && report.contains("monquery.service: ok"), "\(report)")
    }
}
