import Foundation
import Testing

@testable import MonAgentKit
@testable import MonCore
@testable import MonQueryKit

/// Configuration loading for both programs, and secret redaction.
@Suite struct ConfigTests {}

/// A file under the temporary directory, removed when the test is done with it.
private struct TempFile {
    let path: String

    init(_ contents: String, name: String = "config.yaml") throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("monconfig-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent(name).path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}

private func agent(_ yaml: String, env: [String: String] = [:]) throws -> AgentConfig {
    let file = try TempFile(yaml, name: "monagent.yaml")
    defer { file.remove() }
    return try AgentConfig.load(path: file.path, environment: env)
}

private func query(_ yaml: String, env: [String: String] = [:]) throws -> QueryConfig {
    let file = try TempFile(yaml, name: "monquery.yaml")
    defer { file.remove() }
    return try QueryConfig.load(path: file.path, environment: env)
}

/// The repository's `config/` directory, found from this file's path.
private let repositoryConfigDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("config")

extension ConfigTests {
    @Suite struct AgentConfigTests {
        @Test func noFileGivesTheDefaults() throws {
            let config = try AgentConfig.load(path: nil, environment: [:])
            #expect(config.interval == 5)
            #expect(config.ingestSocket == "/run/monquery/ingest.sock")
            #expect(config.stateDir == "/var/lib/monagent")
            #expect(config.logLevel == "info")
            #expect(config.queueMaxBatches == 720)
            #expect(config.backoffInitial == 0.1)
            #expect(config.backoffMaximum == 10)
            #expect(config.procRoot == "/proc")
            #expect(config.collectors == AgentConfig.allCollectors)
            #expect(config.processGroups == ProcessGroup.defaults)
            #expect(config.agentID == HostName.current())
            #expect(config.host == HostName.current())
            #expect(!HostName.current().isEmpty)
        }

        @Test func shippedExampleFileEqualsTheDefaults() throws {
            let path = repositoryConfigDirectory.appendingPathComponent("monagent.yaml").path
            try #require(FileManager.default.fileExists(atPath: path))
            let config = try AgentConfig.load(path: path, environment: [:])
            let defaults = try AgentConfig.load(path: nil, environment: [:])
            #expect(config.interval == defaults.interval)
            #expect(config.ingestSocket == defaults.ingestSocket)
            #expect(config.queueMaxBatches == defaults.queueMaxBatches)
            #expect(config.collectors == defaults.collectors)
            #expect(config.processGroups == defaults.processGroups)
        }

        @Test func emptyFileGivesTheDefaults() throws {
            let config = try agent("# nothing set\n")
            #expect(config.interval == 5)
            #expect(config.collectors == AgentConfig.allCollectors)
        }

        @Test func valuesAreReadFromTheFile() throws {
            let config = try agent(
                """
                agent_id: agent-7
                host: db-1
                interval: 0.5
                state_dir: /tmp/state
                log_level: debug
                ingest:
                  socket: /tmp/ingest.sock
                  queue_max_batches: 10
                  backoff_initial_seconds: 0.25
                  backoff_max_seconds: 30
                proc:
                  root: /fixtures/proc
                collectors: [cpu, network]
                """
            )
            #expect(config.agentID == "agent-7")
            #expect(config.host == "db-1")
            #expect(config.interval == 0.5)
            #expect(config.stateDir == "/tmp/state")
            #expect(config.logLevel == "debug")
            #expect(config.ingestSocket == "/tmp/ingest.sock")
            #expect(config.queueMaxBatches == 10)
            #expect(config.backoffInitial == 0.25)
            #expect(config.backoffMaximum == 30)
            #expect(config.procRoot == "/fixtures/proc")
            #expect(config.collectors == ["cpu", "network"])
        }

        @Test func environmentWinsOverTheFile() throws {
            let config = try agent(
                "interval: 10\nstate_dir: /from/file\ningest:\n  socket: /file.sock\ncollectors: [disk]\n",
                env: [
                    "MONAGENT_INTERVAL": "0.2",
                    "MONAGENT_INGEST_SOCKET": "/env.sock",
                    "MONAGENT_STATE_DIR": "/from/env",
                    "MONAGENT_COLLECTORS": "cpu, memory,,",
                    "MONQUERY_INTERVAL": "99",
                ]
            )
            #expect(config.interval == 0.2)
            #expect(config.ingestSocket == "/env.sock")
            #expect(config.stateDir == "/from/env")
            #expect(config.collectors == ["cpu", "memory"])
        }

        @Test func environmentAloneOverridesTheDefaults() throws {
            let config = try AgentConfig.load(
                path: nil,
                environment: ["MONAGENT_COLLECTORS": "cpu,memory", "MONAGENT_INGEST_QUEUE_MAX_BATCHES": "3"]
            )
            #expect(config.collectors == ["cpu", "memory"])
            #expect(config.queueMaxBatches == 3)
        }

        @Test func badEnvironmentValueNamesTheVariable() {
            let error = #expect(throws: ConfigError.self) {
                try AgentConfig.load(path: nil, environment: ["MONAGENT_INTERVAL": "soon"])
            }
            #expect(error?.key == "interval")
            #expect(error?.message.contains("env MONAGENT_INTERVAL") == true)
        }

        @Test func unknownKeyIsNamedWithItsLine() {
            let error = #expect(throws: ConfigError.self) {
                try agent("interval: 5\n\ningest:\n  sockett: /x.sock\n")
            }
            #expect(error?.key == "ingest.sockett")
            #expect(error?.message.contains("monagent.yaml:4") == true, "\(error?.message ?? "")")
            #expect(error?.description.contains("ingest.sockett") == true)
        }

        @Test func misspelledTopLevelKeyIsRefused() {
            let error = #expect(throws: ConfigError.self) { try agent("intervall: 5\n") }
            #expect(error?.key == "intervall")
            #expect(error?.message.contains(":1") == true)
        }

        @Test("Bad interval names the key", arguments: ["banana", "0", "-1", "3601", "nan", "inf", "0.01", "\"\""])
        func badIntervalNamesTheKey(value: String) {
            let error = #expect(throws: ConfigError.self) { try agent("interval: \(value)\n") }
            #expect(error?.key == "interval")
            #expect(error?.message.contains("monagent.yaml:1") == true)
        }

        @Test func badIntegerNamesTheKey() {
            let error = #expect(throws: ConfigError.self) { try agent("ingest:\n  queue_max_batches: 1.5\n") }
            #expect(error?.key == "ingest.queue_max_batches")
            let range = #expect(throws: ConfigError.self) { try agent("ingest:\n  queue_max_batches: 0\n") }
            #expect(range?.key == "ingest.queue_max_batches")
        }

        @Test func unknownCollectorIsRefused() {
            let error = #expect(throws: ConfigError.self) { try agent("collectors: [cpu, gpu]\n") }
            #expect(error?.key == "collectors")
            #expect(error?.message.contains("'gpu'") == true)
            let fromEnv = #expect(throws: ConfigError.self) {
                try AgentConfig.load(path: nil, environment: ["MONAGENT_COLLECTORS": "cpu,redis"])
            }
            #expect(fromEnv?.message.contains("'redis'") == true)
        }

        @Test func collectorsGivenAsAScalarAreRefused() {
            let error = #expect(throws: ConfigError.self) { try agent("collectors: cpu\n") }
            #expect(error?.key == "collectors")
            #expect(error?.message.contains("expected a list") == true)
        }

        @Test func unknownLogLevelIsRefused() {
            let error = #expect(throws: ConfigError.self) { try agent("log_level: verbose\n") }
            #expect(error?.key == "log_level")
            #expect(error?.message.contains("verbose") == true)
        }

        @Test func processGroupsAreParsed() throws {
            let config = try agent(
                """
                processes:
                  - name: web
                    cmdline: [gunicorn, uvicorn]
                  - name: db
                    comm: postgres
                  - name: both
                    comm: [redis-server]
                    cmdline: ["redis:"]
                """
            )
            #expect(
                config.processGroups == [
                    ProcessGroup(name: "web", cmdline: ["gunicorn", "uvicorn"]),
                    ProcessGroup(name: "db", comm: ["postgres"]),
                    ProcessGroup(name: "both", comm: ["redis-server"], cmdline: ["redis:"]),
                ]
            )
        }

        @Test func emptyProcessListMeansNoGroups() throws {
            #expect(try agent("processes: []\n").processGroups.isEmpty)
        }

        @Test func processGroupWithoutNameIsRefused() {
            let error = #expect(throws: ConfigError.self) {
                try agent("processes:\n  - name: ok\n    comm: [a]\n  - comm: [b]\n")
            }
            #expect(error?.key == "processes[1].name")
        }

        @Test func processGroupWithoutPatternsIsRefused() {
            let error = #expect(throws: ConfigError.self) { try agent("processes:\n  - name: lonely\n") }
            #expect(error?.key == "processes[0]")
            #expect(error?.message.contains("lonely") == true)
        }

        @Test func processGroupWithUnknownKeyIsRefused() {
            let error = #expect(throws: ConfigError.self) {
                try agent("processes:\n  - name: x\n    comm: [x]\n    exe: /bin/x\n")
            }
            #expect(error?.key == "processes[0].exe")
        }

        @Test func processItemThatIsNotAMappingIsRefused() {
            let error = #expect(throws: ConfigError.self) { try agent("processes:\n  - postgres\n") }
            #expect(error?.key == "processes")
        }

        @Test("Top level that is not a mapping", arguments: ["- a\n- b\n", "just a string\n", "42\n"])
        func topLevelMustBeAMapping(yaml: String) {
            let error = #expect(throws: ConfigError.self) { try agent(yaml) }
            #expect(error?.key.hasSuffix("monagent.yaml") == true)
            #expect(error?.message.contains("mapping") == true)
        }

        @Test(
            "Invalid YAML", arguments: ["interval: [1, 2\n", "a: b: c\n", "key: \"unterminated\n", "\tinterval: 5\n"])
        func invalidYAMLIsRefused(yaml: String) {
            let error = #expect(throws: ConfigError.self) { try agent(yaml) }
            #expect(error?.key.hasSuffix("monagent.yaml") == true)
            #expect(error?.message.contains("not valid YAML") == true)
        }

        @Test func missingFileGivenExplicitlyIsAnError() {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).yaml")
                .path
            let error = #expect(throws: ConfigError.self) { try AgentConfig.load(path: path, environment: [:]) }
            #expect(error?.key == path)
        }

        @Test func inMemoryYAMLSourceReadsValues() throws {
            let source = try ConfigSource(
                yaml: "a:\n  b: 3\nflag: yes\n", envPrefix: "T", environment: ["T_FLAG": "off"])
            #expect(try source.int("a.b", default: 0, range: 0...10) == 3)
            #expect(try source.bool("flag", default: true) == false)
            #expect(source.environmentName("a.b_c") == "T_A_B_C")
            try source.finish()
        }

        @Test func nullAndEmptyValuesMeanTheDefault() throws {
            let config = try agent("interval: ~\nstate_dir:\n")
            #expect(config.interval == 5)
            #expect(config.stateDir == "/var/lib/monagent")
        }
    }
}

extension ConfigTests {
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
            #expect(config.logLevel == "info")
        }

        @Test func shippedExampleFileLoads() throws {
            let path = repositoryConfigDirectory.appendingPathComponent("monquery.yaml").path
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
            #expect(config.logLevel == "warning")
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
}

extension ConfigTests {
    @Suite struct SecretRedactionTests {
        struct Case: Sendable, CustomTestStringConvertible {
            var input: String
            var expected: String
            var secret: String
            var testDescription: String { input }
        }

        static let cases: [Case] = [
            Case(
                input: "postgresql://user:secret@host/db",
                expected: "postgresql://user:***@host/db",
                secret: "secret"
            ),
            Case(
                input: "postgres://u:p%40ss@h:5432/d?sslmode=require",
                expected: "postgres://u:***@h:5432/d?sslmode=require",
                secret: "p%40ss"
            ),
            Case(
                input: "host=x password=secret dbname=y",
                expected: "host=x password=*** dbname=y",
                secret: "secret"
            ),
            Case(
                input: "postgresql://h/db?password=secret&x=1",
                expected: "postgresql://h/db?password=***&x=1",
                secret: "secret"
            ),
            Case(
                input: "postgresql://u:p@ss@h/db",
                expected: "postgresql://u:***@h/db",
                secret: "p@ss"
            ),
            Case(
                input: "postgresql://:topsecret@h",
                expected: "postgresql://:***@h",
                secret: "topsecret"
            ),
            Case(
                input: "password=first host=h passwd=second",
                expected: "password=*** host=h passwd=***",
                secret: "first"
            ),
            Case(
                input: "postgresql://u:secret@h/db?password=other",
                expected: "postgresql://u:***@h/db?password=***",
                secret: "other"
            ),
        ]

        @Test("Secrets are replaced by ***", arguments: cases)
        func secretIsRedacted(testCase: Case) {
            let redacted = SecretRedaction.redactURL(testCase.input)
            #expect(redacted == testCase.expected)
            #expect(!redacted.contains(testCase.secret))
        }

        @Test(
            "Text without a password is unchanged",
            arguments: [
                "postgresql:///mon", "postgresql://user@host:5432/db?sslmode=require",
                "host=/run/postgresql dbname=mon",
                "",
                "postgresql://h/db?application_name=a@b:c",
            ]
        )
        func noPasswordIsUnchanged(url: String) {
            #expect(SecretRedaction.redactURL(url) == url)
        }

        /// libpq allows spaces around `=` and single-quoted values with spaces
        /// (`password = 'a b'`); neither may leak any part of the secret.
        @Test(
            "Keyword/value forms libpq accepts do not leak",
            arguments: [
                ("host=x password = hunter2 dbname=y", "hunter2"),
                ("host=x password='hunter 2' dbname=y", "2'"),
            ]
        )
        func libpqKeywordFormsDoNotLeak(input: String, secret: String) {
            let redacted = SecretRedaction.redactURL(input)
            #expect(!redacted.contains(secret), "\(redacted)")
            #expect(redacted.contains("dbname=y"))
        }
    }
}

extension ConfigTests {
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
            let path = repositoryConfigDirectory.appendingPathComponent("monquery.yaml").path
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
}
