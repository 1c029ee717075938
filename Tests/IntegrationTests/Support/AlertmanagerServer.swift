import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real Alertmanager (Debian's `prometheus-alertmanager`, installed by scripts/test) in a
/// temp directory on a free loopback port, clustering off, one receiver that sends nowhere.
struct AlertmanagerServer {
    static let path =
        ProcessInfo.processInfo.environment["MON_TEST_ALERTMANAGER"] ?? "/usr/bin/prometheus-alertmanager"

    let port: Int
    let process: ManagedProcess

    static func start(directory: String) async throws -> AlertmanagerServer {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("alertmanager not found at \(path); scripts/test installs prometheus-alertmanager")
        }
        let port = TestEnvironment.freePort()
        let config = """
            route:
              receiver: nowhere
              group_wait: 1s
              group_interval: 1s
            receivers:
              - name: nowhere
            """
        try config.write(toFile: "\(directory)/alertmanager.yml", atomically: true, encoding: .utf8)
        let process = try ManagedProcess(
            binary: path,
            arguments: [
                "--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ],
            environment: [:], logPath: "\(directory)/alertmanager.log")
        let server = AlertmanagerServer(port: port, process: process)
        _ = try await eventually("alertmanager ready", seconds: 30) { () -> Bool? in
            guard process.isRunning else { throw TestFailure("alertmanager exited: \(process.log)") }
            let url = try #require(URL(string: "http://127.0.0.1:\(port)/-/ready"))
            let status = (try? await URLSession.shared.data(from: url)).map { ($0.1 as? HTTPURLResponse)?.statusCode }
            return status == 200 ? true : nil
        }
        return server
    }

    /// `GET /api/v2/alerts`: the alerts Alertmanager holds (those past their `endsAt` are
    /// left out by Alertmanager itself), and the raw body.
    func alerts() async throws -> (alerts: [[String: Any]], body: String) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/api/v2/alerts"))
        let (data, _) = try await URLSession.shared.data(from: url)
        let json = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return (json, String(decoding: data, as: UTF8.self))
    }

    func stop() { process.stop() }
}
