import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real Prometheus server (Debian `prometheus`) scraping one target every second, with its
/// configuration and TSDB in a temp directory and its web API on a loopback port.
struct PrometheusServer {
    static let path = ProcessInfo.processInfo.environment["MON_TEST_PROMETHEUS"] ?? "/usr/bin/prometheus"

    let port: Int
    let process: ManagedProcess

    static func start(scraping target: String, directory: String) throws -> PrometheusServer {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("prometheus not found at \(path); scripts/test installs the prometheus package")
        }
        let port = TestEnvironment.freePort()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: monquery
                metrics_path: /metrics
                static_configs:
                  - targets: ["\(target)"]
            """
        try config.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        let process = try ManagedProcess(
            binary: path,
            arguments: [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/tsdb",
                "--web.listen-address=127.0.0.1:\(port)",
            ],
            environment: [:], logPath: "\(directory)/prometheus.log")
        return PrometheusServer(port: port, process: process)
    }

    /// GET on Prometheus' HTTP API; the `data` object of a successful answer.
    func api(_ path: String, _ query: [URLQueryItem] = []) async throws -> Any? {
        var components = try #require(URLComponents(string: "http://127.0.0.1:\(port)\(path)"))
        if !query.isEmpty { components.queryItems = query }
        let (data, _) = try await URLSession.shared.data(from: try #require(components.url))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return json?["status"] as? String == "success" ? json?["data"] : nil
    }

    /// The scrape target: health (`up`), last error and the scrape's sample count.
    func target() async throws -> (health: String, lastError: String)? {
        let data = try await api("/api/v1/targets") as? [String: Any]
        guard let active = (data?["activeTargets"] as? [[String: Any]])?.first else { return nil }
        return (active["health"] as? String ?? "", active["lastError"] as? String ?? "")
    }

    /// The value of an instant PromQL query with one result.
    func scalar(_ promQL: String) async throws -> Double? {
        let data = try await api("/api/v1/query", [URLQueryItem(name: "query", value: promQL)]) as? [String: Any]
        guard let result = (data?["result"] as? [[String: Any]])?.first,
            let value = result["value"] as? [Any], value.count == 2, let text = value[1] as? String
        else { return nil }
        return Double(text)
    }

    func stop() { process.stop() }
}
