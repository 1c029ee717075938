import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real Prometheus (Debian `prometheus`) as a remote-write receiver only
/// (`--web.enable-remote-write-receiver`, nothing scraped), its TSDB in a temp directory and
/// its API on a fixed loopback port, so it can be stopped and started again on the same
/// data and address.
struct RemoteWriteReceiver {
    let port: Int
    let directory: String
    var process: ManagedProcess?

    var writeURL: String { "http://127.0.0.1:\(port)/api/v1/write" }

    init(directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: PrometheusServer.path) else {
            throw TestFailure("prometheus not found at \(PrometheusServer.path); scripts/test installs it")
        }
        port = TestEnvironment.freePort()
        self.directory = directory
        try "global:\n  evaluation_interval: 1m\n".write(
            toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
    }

    /// Starts it (again) and waits until it is ready.
    mutating func start() async throws {
        let process = try ManagedProcess(
            binary: PrometheusServer.path,
            arguments: [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/tsdb",
                "--web.listen-address=127.0.0.1:\(port)", "--web.enable-remote-write-receiver",
            ],
            environment: [:], logPath: "\(directory)/prometheus-\(Int(Date().timeIntervalSince1970)).log")
        self.process = process
        let port = port
        _ = try await eventually("prometheus ready", seconds: 60) { () -> Bool? in
            guard process.isRunning else { throw TestFailure("prometheus exited: \(process.log)") }
            let url = URL(string: "http://127.0.0.1:\(port)/-/ready")!
            guard let (_, response) = try? await URLSession.shared.data(from: url) else { return nil }
            return (response as? HTTPURLResponse)?.statusCode == 200 ? true : nil
        }
    }

    func stop() { process?.stop() }

    /// An instant PromQL query at `time` (seconds since the epoch): each result's labels and value.
    func query(_ promQL: String, at time: Double) async throws -> [(labels: [String: String], value: Double)] {
        var components = try #require(URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query"))
        components.queryItems = [
            URLQueryItem(name: "query", value: promQL), URLQueryItem(name: "time", value: String(format: "%.3f", time)),
        ]
        let (data, _) = try await URLSession.shared.data(from: try #require(components.url))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard json?["status"] as? String == "success", let body = json?["data"] as? [String: Any] else {
            throw TestFailure("PromQL \(promQL): \(String(decoding: data, as: UTF8.self))")
        }
        return (body["result"] as? [[String: Any]] ?? []).compactMap { item in
            guard let value = item["value"] as? [Any], value.count == 2, let text = value[1] as? String,
                let number = Double(text)
            else { return nil }
            return (item["metric"] as? [String: String] ?? [:], number)
        }
    }

    /// The raw samples of a range selector (`x[60s]`) at `time`: the first series' (time, value) pairs.
    func samples(_ rangeSelector: String, at time: Double) async throws -> [(time: Double, value: Double)] {
        var components = try #require(URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query"))
        components.queryItems = [
            URLQueryItem(name: "query", value: rangeSelector),
            URLQueryItem(name: "time", value: String(format: "%.3f", time)),
        ]
        let (data, _) = try await URLSession.shared.data(from: try #require(components.url))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let result = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first
        return (result?["values"] as? [[Any]] ?? []).compactMap { pair in
            guard pair.count == 2, let time = (pair[0] as? Double) ?? (pair[0] as? Int).map(Double.init),
                let text = pair[1] as? String,
                let value = Double(text)
            else { return nil }
            return (time, value)
        }
    }

    /// The single value of `promQL` at `time` (nil: no result).
    func scalar(_ promQL: String, at time: Double) async throws -> Double? {
        try await query(promQL, at: time).first?.value
    }
}
