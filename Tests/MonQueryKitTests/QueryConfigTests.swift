import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

private func query(_ yaml: String, env: [String: String] = [:]) throws -> QueryConfig {
    let file = try TempFile(yaml, name: "monquery.yaml")
    defer { file.remove() }
    return try QueryConfig.load(path: file.path, environment: env)
}

@Suite struct QueryConfigTests {
    @Test func noFileGivesTheDefaults() throws {
        let config = try QueryConfig.load(path: nil, environment: [:])
        #expect(config.httpHost == "127.0.0.1")
        #expect(config.httpPort == 8089)
        #expect(config.ingestSocket == "/run/monquery/ingest.sock")
        #expect(config.databaseURL == "postgresql:///mon")
        #expect(config.databasePassword == nil)
        #expect(config.ingestSocketMode == 0o660)
        #expect(config.maxFrameBytes == 16 * 1024 * 1024)
        #expect(config.partitionsAheadDays == 3)
        #expect(config.rawRetentionDays == 7)
        #expect(config.log.level.rawValue == "info")
        #expect(config.queryConnections == 4 && config.responseCacheMs == 500)
        #expect(config.ingestConnections == 2)
        #expect(config.databaseReadURL == nil)
        #expect(config.retention.days["statements_1h"] == config.retention.days["events"])
    }

    @Test func shippedExampleFileLoads() throws {
        let path = Repository.configDirectory.appendingPathComponent("monquery.yaml").path
        try #require(FileManager.default.fileExists(atPath: path))
        let config = try QueryConfig.load(path: path, environment: [:])
        #expect(config.httpPort == 8089)
        #expect(config.databaseURL == "postgresql:///mon")
        let defaults = try QueryConfig.load(path: nil, environment: [:])
        #expect(config.uiSessionMaxAge == defaults.uiSessionMaxAge && defaults.uiSessionMaxAge == 43_200)
        #expect(config.uiSecureCookie == defaults.uiSecureCookie && !defaults.uiSecureCookie)
    }

    @Test func dashboardKeys() throws {
        let config = try query("ui:\n  session_max_age_seconds: 3600\n  secure_cookie: true\n")
        #expect(config.uiSessionMaxAge == 3600 && config.uiSecureCookie)
        let fromEnv = try QueryConfig.load(path: nil, environment: ["MONQUERY_UI_SESSION_MAX_AGE_SECONDS": "120"])
        #expect(fromEnv.uiSessionMaxAge == 120)
        for bad in ["0", "59", "2592001", "12h"] {
            let error = #expect(throws: ConfigError.self) { try query("ui:\n  session_max_age_seconds: \(bad)\n") }
            #expect(error?.key == "ui.session_max_age_seconds", "\(bad)")
        }
        let typo = #expect(throws: ConfigError.self) { try query("ui:\n  secure_cookies: true\n") }
        #expect(typo?.key == "ui.secure_cookies")
    }

    @Test func valuesAreReadFromTheFile() throws {
        let config = try query(
            """
            database:
              url: postgresql://mon@db/mon
            http:
              listen: "[::1]:9000"
            ingest:
              socket: /tmp/q.sock
              socket_mode: "0600"
              max_frame_bytes: 2048
            storage:
              partitions_ahead_days: 5
              raw_retention_days: 30
              ledger_retention_days: 30
            log_level: warning
            """
        )
        #expect(config.databaseURL == "postgresql://mon@db/mon")
        #expect(config.httpHost == "::1")
        #expect(config.httpPort == 9000)
        #expect(config.ingestSocket == "/tmp/q.sock")
        #expect(config.ingestSocketMode == 0o600)
        #expect(config.maxFrameBytes == 2048)
        #expect(config.partitionsAheadDays == 5)
        #expect(config.rawRetentionDays == 30)
        #expect(config.log.level.rawValue == "warning")
    }

    @Test func environmentWinsOverTheFile() throws {
        let config = try query(
            "database:\n  url: postgresql:///file\nhttp:\n  listen: 127.0.0.1:1\n",
            env: [
                "MONQUERY_HTTP_LISTEN": ":8090",
                "MONQUERY_DATABASE_URL": "postgresql://env@h/db",
                "MONAGENT_HTTP_LISTEN": "1.1.1.1:1",
                // Listening beyond loopback needs a token.
                "MONQUERY_AUTH_VIEWER_TOKENS": String(repeating: "ab", count: 32),
            ]
        )
        #expect(config.httpHost == "0.0.0.0")
        #expect(config.httpPort == 8090)
        #expect(config.databaseURL == "postgresql://env@h/db")
    }

    @Test func readURLFromFileAndEnvironment() throws {
        let file = try query("database:\n  url: postgresql:///primary\n  read_url: postgresql://r@replica/mon\n")
        #expect(file.databaseURL == "postgresql:///primary" && file.databaseReadURL == "postgresql://r@replica/mon")
        let env = try query(
            "database:\n  read_url: postgresql://r@replica/mon\n",
            env: ["MONQUERY_DATABASE_READ_URL": "postgresql://e@other/mon"])
        #expect(env.databaseReadURL == "postgresql://e@other/mon")
        // An empty value means unset: the API reads database.url.
        #expect(try query("database:\n  read_url: \"\"\n").databaseReadURL == nil)
    }

    @Test(
        "Bad listen address names http.listen",
        arguments: ["nohost", "1.2.3.4:99999", "1.2.3.4:", "host:port", "1.2.3.4:-1"])
    func badListenNamesTheKey(listen: String) {
        let error = #expect(throws: ConfigError.self) { try query("http:\n  listen: \"\(listen)\"\n") }
        #expect(error?.key == "http.listen")
        #expect(error?.message.contains(listen) == true)
        let fromEnv = #expect(throws: ConfigError.self) {
            try QueryConfig.load(path: nil, environment: ["MONQUERY_HTTP_LISTEN": listen])
        }
        #expect(fromEnv?.key == "http.listen")
    }

    @Test func listenForms() throws {
        #expect(try ListenAddress.parse("127.0.0.1:8089", key: "k") == ("127.0.0.1", 8089))
        #expect(try ListenAddress.parse("[::]:80", key: "k") == ("::", 80))
        #expect(try ListenAddress.parse(":0", key: "k") == ("0.0.0.0", 0))
        #expect(try ListenAddress.parse("localhost:65535", key: "k") == ("localhost", 65535))
    }

    @Test(arguments: ["0999", "1777", "rw", ""])
    func badSocketModeIsRefused(mode: String) {
        let error = #expect(throws: ConfigError.self) { try query("ingest:\n  socket_mode: \"\(mode)\"\n") }
        #expect(error?.key == "ingest.socket_mode")
    }

    @Test func unknownKeyIsRefused() {
        let error = #expect(throws: ConfigError.self) { try query("database:\n  url: x\n  pasword_file: /p\n") }
        #expect(error?.key == "database.pasword_file")
        #expect(error?.message.contains("monquery.yaml:3") == true)
    }

    @Test(arguments: ["s3cret\n", "s3cret", "s3cret\r\n", "s3cret\n\n"])
    func passwordFileIsReadWithoutTrailingNewline(contents: String) throws {
        let secret = try TempFile(contents, name: "db-password")
        defer { secret.remove() }
        let config = try query("database:\n  password_file: \(secret.path)\n")
        #expect(config.databasePassword == "s3cret")
    }

    @Test func passwordKeepsInnerSpaces() throws {
        let secret = try TempFile("pa ss word \n", name: "db-password")
        defer { secret.remove() }
        let config = try QueryConfig.load(path: nil, environment: ["MONQUERY_DATABASE_PASSWORD_FILE": secret.path])
        #expect(config.databasePassword == "pa ss word ")
    }

    @Test func unreadablePasswordFileNamesTheKey() {
        let error = #expect(throws: ConfigError.self) {
            try query("database:\n  password_file: /nonexistent/\(UUID().uuidString)\n")
        }
        #expect(error?.key == "database.password_file")
    }
}

@Suite struct AnomalyConfigTests {
    @Test func defaults() throws {
        let settings = try QueryConfig.load(path: nil, environment: [:]).anomalies
        #expect(settings.enabled)
        #expect(settings.interval == 30)
        #expect(settings.signals == AnomalySignal.allCases)
        #expect(settings.baselineDays == 7)
        #expect(settings.detector == AnomalyDetector(sigmas: 3, minimumPoints: 5))
        #expect(settings.currentWindowSeconds == 300)
        #expect(settings.minRequests == 20)
        #expect(settings.trendWindowSeconds == 1800)
        #expect(settings.trend == TrendDetector(minimumChangePercent: 20, minimumR2: 0.5, minimumPoints: 5))
    }

    @Test func shippedExampleFileEqualsTheDefaults() throws {
        let path = Repository.configDirectory.appendingPathComponent("monquery.yaml").path
        let shipped = try QueryConfig.load(path: path, environment: [:]).anomalies
        #expect(shipped == AnomalySettings())
    }

    @Test func valuesAreReadFromTheFileAndTheEnvironment() throws {
        let config = try query(
            """
            anomalies:
              interval_seconds: 5
              signals: [cpu_percent, api_latency_p95_ms]
              baseline_days: 14
              min_baseline_points: 10
              sigmas: 4
              current_window: 10m
              min_requests: 50
              trend_window: 1h
              trend_min_change_percent: 10
              trend_min_r2: 0.8
            """,
            env: ["MONQUERY_ANOMALIES_SIGMAS": "2.5"])
        let settings = config.anomalies
        #expect(settings.interval == 5)
        #expect(settings.signals == [.cpu, .apiLatencyP95])
        #expect(settings.baselineDays == 14)
        #expect(settings.detector == AnomalyDetector(sigmas: 2.5, minimumPoints: 10))
        #expect(settings.currentWindowSeconds == 600)
        #expect(settings.minRequests == 50)
        #expect(settings.trendWindowSeconds == 3600)
        #expect(settings.trend == TrendDetector(minimumChangePercent: 10, minimumR2: 0.8, minimumPoints: 5))
    }

    @Test(
        "bad values name their key",
        arguments: [
            ("anomalies:\n  signals: [cpu_percent, disk_percent]\n", "anomalies.signals", "disk_percent"),
            ("anomalies:\n  min_baseline_points: 8\n", "anomalies.min_baseline_points", "baseline_days (7)"),
            ("anomalies:\n  baseline_days: 0\n", "anomalies.baseline_days", "out of range"),
            ("anomalies:\n  sigmas: zero\n", "anomalies.sigmas", "not a number"),
            ("anomalies:\n  current_window: 5 minutes\n", "anomalies.current_window", "not a duration"),
            ("anomalies:\n  current_window: 30s\n", "anomalies.current_window", "out of range 1m...1h"),
            ("anomalies:\n  trend_window: 2d\n", "anomalies.trend_window", "out of range"),
            ("anomalies:\n  trend_min_r2: 1.5\n", "anomalies.trend_min_r2", "out of range"),
            ("anomalies:\n  min_requests: -1\n", "anomalies.min_requests", "out of range"),
            ("anomalies:\n  sigma: 3\n", "anomalies.sigma", "unknown key"),
            ("database:\n  query_connections: 0\n", "database.query_connections", "out of range 1...64"),
            ("database:\n  query_connections: 65\n", "database.query_connections", "out of range 1...64"),
            ("database:\n  query_connections: many\n", "database.query_connections", "not an integer"),
            ("database:\n  ingest_connections: 0\n", "database.ingest_connections", "out of range 1...16"),
            ("database:\n  ingest_connections: 17\n", "database.ingest_connections", "out of range 1...16"),
            ("database:\n  ingest_connections: -1\n", "database.ingest_connections", "out of range 1...16"),
            ("database:\n  ingest_connections: many\n", "database.ingest_connections", "not an integer"),
            ("database:\n  ingest_connections: .nan\n", "database.ingest_connections", "not an integer"),
            ("database:\n  ingest_connections: 2.5\n", "database.ingest_connections", "not an integer"),
            ("http:\n  response_cache_ms: -1\n", "http.response_cache_ms", "out of range 0...60000"),
            ("http:\n  response_cache_ms: 1e9\n", "http.response_cache_ms", "not an integer"),
            ("http:\n  response_cache_ms: .nan\n", "http.response_cache_ms", "not an integer"),
        ])
    func badValueNamesTheKey(yaml: String, key: String, message: String) {
        let error = #expect(throws: ConfigError.self) { try query(yaml) }
        #expect(error?.key == key)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test("an alert rule may use an anomaly signal, only while anomaly detection watches it")
    func alertRulesOptIn() throws {
        let rule = """
            alerts:
              default_rules: false
              rules_dir: /nonexistent
              rules:
                - name: LatencyAnomaly
                  signal: anomaly_api_latency_p95_ms
                  op: ">"
                  threshold: 3
                  summary: "{{value}} σ"
            """
        let config = try query(rule)
        #expect(config.alerts.rules.first?.anomalySignal == .apiLatencyP95)
        let off = #expect(throws: ConfigError.self) { try query(rule + "\nanomalies:\n  enabled: false\n") }
        #expect(off?.key == "anomalies.enabled")
        #expect(off?.message.contains("LatencyAnomaly") == true)
        let unwatched = #expect(throws: ConfigError.self) {
            try query(rule + "\nanomalies:\n  signals: [cpu_percent]\n")
        }
        #expect(unwatched?.key == "anomalies.signals")
    }
}
