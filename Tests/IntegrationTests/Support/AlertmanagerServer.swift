import Foundation
import Testing

/// A real Alertmanager (Debian's `prometheus-alertmanager`, installed by scripts/test) in a
/// temp directory on a free loopback port, clustering off, one receiver that sends nowhere.
struct AlertmanagerServer {
    static let path =
        ProcessInfo.processInfo.environment["MON_TEST_ALERTMANAGER"] ?? "/usr/bin/prometheus-alertmanager"

    let port: Int
    let process: ManagedProcess
    /// The certificate it serves HTTPS with (nil: plain HTTP); `curl --cacert` checks it.
    var certificate: String? = nil

    var url: String { "\(certificate == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// With `tls` (a certificate and its key), Alertmanager serves HTTPS only (`--web.config.file`).
    static func start(directory: String, tls: (certificate: String, key: String)? = nil) async throws
        -> AlertmanagerServer
    {
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
        var arguments = [
            "--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
        ]
        if let tls {
            try "tls_server_config:\n  cert_file: \(tls.certificate)\n  key_file: \(tls.key)\n".write(
                toFile: "\(directory)/web.yml", atomically: true, encoding: .utf8)
            arguments.append("--web.config.file=\(directory)/web.yml")
        }
        let process = try ManagedProcess(
            binary: path, arguments: arguments, environment: [:], logPath: "\(directory)/alertmanager.log")
        let server = AlertmanagerServer(port: port, process: process, certificate: tls?.certificate)
        _ = try await eventually("alertmanager ready", seconds: 30) { () -> Bool? in
            guard process.isRunning else { throw TestFailure("alertmanager exited: \(process.log)") }
            return (try? await server.get("/-/ready")) != nil ? true : nil
        }
        return server
    }

    /// GET on Alertmanager (curl, which checks an HTTPS server against its certificate): the
    /// body of a 2xx answer.
    func get(_ path: String) async throws -> Data {
        let (status, output) = try await runProgram(
            "/usr/bin/curl", ["-sSf", "--max-time", "5"] + (certificate.map { ["--cacert", $0] } ?? []) + [url + path])
        guard status == 0 else { throw TestFailure("curl \(url + path): exit \(status): \(output)") }
        return Data(output.utf8)
    }

    /// `GET /api/v2/alerts`: the alerts Alertmanager holds (those past their `endsAt` are
    /// left out by Alertmanager itself), and the raw body.
    func alerts() async throws -> (alerts: [[String: Any]], body: String) {
        let data = try await get("/api/v2/alerts")
        let json = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return (json, String(decoding: data, as: UTF8.self))
    }

    func stop() { process.stop() }
}
