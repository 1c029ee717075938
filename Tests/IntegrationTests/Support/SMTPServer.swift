import Foundation
import MonTestSupport
import Testing

/// A real SMTP server (aiosmtpd, `Tests/Fixtures/smtp/smtp-server.py`) in a child process:
/// STARTTLS with a self-signed certificate made here with openssl, AUTH with a user and
/// password; or one that refuses every AUTH, or one that never answers. Each message it
/// receives is kept in `directory` with a JSON description (`messages`).
struct SMTPServer {
    /// The python that has aiosmtpd (scripts/test installs it in the realapp virtualenv).
    static var python: String? { TestEnvironment.environment["MON_TEST_REALAPP_PYTHON"] }

    let port: Int
    let directory: String
    let certificate: String
    let process: ManagedProcess

    /// A self-signed certificate for 127.0.0.1 in `directory`: (certificate, key).
    static func makeCertificate(in directory: String) async throws -> (String, String) {
        let (certificate, key) = ("\(directory)/smtp-cert.pem", "\(directory)/smtp-key.pem")
        guard !FileManager.default.fileExists(atPath: certificate) else { return (certificate, key) }
        let (status, output) = try await runProgram(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        guard status == 0 else { throw TestFailure("openssl: \(output)") }
        return (certificate, key)
    }

    /// Starts the server on `port` (a free one by default) and waits until it listens.
    static func start(
        directory: String, port: Int = TestEnvironment.freePort(), user: String? = "monquery",
        password: String? = nil, refuseAuth: Bool = false, hang: Bool = false, log: String = "smtp.log"
    ) async throws -> SMTPServer {
        let python = try #require(python, "MON_TEST_REALAPP_PYTHON (a python with aiosmtpd) is not set")
        let (certificate, key) = try await makeCertificate(in: directory)
        let script = Fixtures.directory.appendingPathComponent("smtp/smtp-server.py").path
        var arguments = [script, "--port", "\(port)", "--directory", "\(directory)/received"]
        if !hang {
            arguments += ["--cert", certificate, "--key", key]
            if let user, let password { arguments += ["--user", user, "--password", password] }
            if refuseAuth { arguments.append("--refuse-auth") }
        } else {
            arguments.append("--hang")
        }
        let process = try ManagedProcess(
            binary: python, arguments: arguments, environment: [:], logPath: "\(directory)/\(log)")
        _ = try await eventually("the SMTP server on port \(port) to listen", seconds: 60) {
            process.log.contains("ready") ? true : nil
        }
        return SMTPServer(port: port, directory: directory, certificate: certificate, process: process)
    }

    /// The messages received so far, oldest first: the fixture's JSON descriptions.
    func messages() throws -> [[String: Any]] {
        let folder = "\(directory)/received"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return try names.filter { $0.hasPrefix("msg-") && $0.hasSuffix(".json") }
            .sorted { Int($0.dropFirst(4).dropLast(5)) ?? 0 < Int($1.dropFirst(4).dropLast(5)) ?? 0 }
            .map { name in
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name)"))
                return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            }
    }

    /// AUTH attempts the server refused.
    var authFailures: Int {
        ((try? String(contentsOfFile: "\(directory)/received/auth-failures", encoding: .utf8)) ?? "")
            .split(separator: "\n").count
    }

    /// Connections a hanging server holds.
    var heldConnections: Int {
        ((try? String(contentsOfFile: "\(directory)/received/hang-connections", encoding: .utf8)) ?? "")
            .split(separator: "\n").count
    }

    /// A message's header value (the first of that name).
    static func header(_ message: [String: Any], _ name: String) -> String? {
        (message["headers"] as? [[String]])?.first { $0.first?.lowercased() == name.lowercased() }?.last
    }
}
