import Foundation
import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// `statsd.*` and `logs.*` of monagent's configuration.
@Suite struct AppSignalsConfigTests {
    static func load(_ environment: [String: String]) throws -> AgentConfig {
        try AgentConfig.load(path: nil, environment: environment)
    }

    static func load(yaml: String, _ environment: [String: String] = [:]) throws -> AgentConfig {
        try AgentConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: environment))
    }

    // MARK: Defaults

    @Test func defaults() throws {
        let config = try Self.load([:])
        #expect(config.statsd.address?.host == "127.0.0.1")
        #expect(config.statsd.address?.port == 8125)
        #expect(config.statsd.socketPath == nil)
        #expect(config.statsd.prefix == "app_")
        #expect(config.statsd.maxTagSets == 500)
        #expect(config.statsd.maxMetrics == 2000)
        #expect(config.statsd.receiveBufferBytes == 16 * 1024 * 1024)
        #expect(config.statsd.requestMetrics == StatsDConfig.defaultRequestMetrics)
        #expect(config.statsd.requestMetrics.contains("http.request.duration"))
        #expect(config.logs.paths.isEmpty)
        #expect(config.logs.startAt == .end)
        #expect(config.logs.pollIntervalMs == 250)
        #expect(config.logs.service == "mnemolite")
        #expect(config.logs.maxLineBytes == 65536)
        #expect(config.logs.redactKeys == LogsConfig.defaultRedactKeys)
        #expect(config.logs.redactPatterns == LogsConfig.defaultRedactPatterns)
        #expect(config.logs.request.durationUnitSeconds == false)
        #expect(config.logs.request.pathKeys == ["path", "endpoint", "route"])
    }

    @Test func shippedExampleFileEqualsTheDefaults() throws {
        let path = Repository.configDirectory.appendingPathComponent("monagent.yaml").path
        try #require(FileManager.default.fileExists(atPath: path))
        let shipped = try AgentConfig.load(path: path, environment: [:])
        let defaults = try Self.load([:])
        #expect(shipped.statsd.address?.host == defaults.statsd.address?.host)
        #expect(shipped.statsd.address?.port == defaults.statsd.address?.port)
        #expect(shipped.statsd.prefix == defaults.statsd.prefix)
        #expect(shipped.statsd.maxTagSets == defaults.statsd.maxTagSets)
        #expect(shipped.statsd.maxMetrics == defaults.statsd.maxMetrics)
        #expect(shipped.statsd.receiveBufferBytes == defaults.statsd.receiveBufferBytes)
        #expect(shipped.statsd.requestMetrics == defaults.statsd.requestMetrics)
        #expect(shipped.logs.paths == defaults.logs.paths)
        #expect(shipped.logs.startAt == defaults.logs.startAt)
        #expect(shipped.logs.pollIntervalMs == defaults.logs.pollIntervalMs)
        #expect(shipped.logs.service == defaults.logs.service)
        #expect(shipped.logs.maxLineBytes == defaults.logs.maxLineBytes)
        #expect(shipped.logs.redactKeys == defaults.logs.redactKeys)
        #expect(shipped.logs.redactPatterns == defaults.logs.redactPatterns)
        #expect(shipped.logs.request.pathKeys == defaults.logs.request.pathKeys)
        #expect(shipped.logs.request.methodKeys == defaults.logs.request.methodKeys)
        #expect(shipped.logs.request.statusKeys == defaults.logs.request.statusKeys)
        #expect(shipped.logs.request.durationKeys == defaults.logs.request.durationKeys)
        #expect(shipped.logs.request.durationUnitSeconds == defaults.logs.request.durationUnitSeconds)
    }

    // MARK: statsd

    @Test(arguments: [
        ("0.0.0.0:9125", "0.0.0.0", 9125),
        ("localhost:1", "localhost", 1),
        ("[::1]:8125", "::1", 8125),
        (":8125", "0.0.0.0", 8125),
        ("127.0.0.1:65535", "127.0.0.1", 65535),
    ])
    func validAddresses(_ text: String, _ host: String, _ port: Int) throws {
        let address = try #require(try Self.load(["MONAGENT_STATSD_ADDRESS": text]).statsd.address)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: ["nohost", "1.2.3.4:0", "h:99999", "h:-1", "h:", "h:port", "1.2.3.4:8125:x"])
    func invalidAddressesNameTheKey(_ text: String) {
        let error = #expect(throws: ConfigError.self, "\(text)") {
            try Self.load(["MONAGENT_STATSD_ADDRESS": text])
        }
        #expect(error?.key == "statsd.address")
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "")")
    }

    @Test func emptyAddressTurnsTheReceiverOff() throws {
        #expect(try Self.load(["MONAGENT_STATSD_ADDRESS": ""]).statsd.address == nil)
        #expect(try Self.load(yaml: "statsd:\n  address: \"\"\n").statsd.address == nil)
    }

    @Test func statsdValuesFromTheFileAndTheEnvironment() throws {
        let yaml = """
            statsd:
              address: "127.0.0.1:9000"
              socket: /run/monagent/statsd.sock
              prefix: svc_
              max_tag_sets: 10
              max_metrics: 20
              request_metrics: [web.duration]
            """
        let config = try Self.load(yaml: yaml, ["MONAGENT_STATSD_MAX_METRICS": "30"])
        #expect(config.statsd.address?.port == 9000)
        #expect(config.statsd.socketPath == "/run/monagent/statsd.sock")
        #expect(config.statsd.prefix == "svc_")
        #expect(config.statsd.maxTagSets == 10)
        #expect(config.statsd.maxMetrics == 30)
        #expect(config.statsd.requestMetrics == ["web.duration"])
        let fromEnv = try Self.load(["MONAGENT_STATSD_REQUEST_METRICS": "a.b, c "])
        #expect(fromEnv.statsd.requestMetrics == ["a.b", "c"])
    }

    @Test(arguments: [
        ("MONAGENT_STATSD_PREFIX", "app-", "statsd.prefix"),
        ("MONAGENT_STATSD_PREFIX", "app.", "statsd.prefix"),
        ("MONAGENT_STATSD_MAX_TAG_SETS", "0", "statsd.max_tag_sets"),
        ("MONAGENT_STATSD_MAX_TAG_SETS", "many", "statsd.max_tag_sets"),
        ("MONAGENT_STATSD_MAX_METRICS", "0", "statsd.max_metrics"),
        ("MONAGENT_STATSD_RECEIVE_BUFFER_BYTES", "1024", "statsd.receive_buffer_bytes"),
    ])
    func invalidStatsDValuesNameTheKey(_ variable: String, _ value: String, _ key: String) {
        let error = #expect(throws: ConfigError.self, "\(variable)=\(value)") { try Self.load([variable: value]) }
        #expect(error?.key == key)
    }

    // MARK: logs

    @Test func logPathsFromTheEnvironmentAreCommaSeparated() throws {
        let config = try Self.load(["MONAGENT_LOG_PATHS": "a.log, /var/log/*.json"])
        #expect(config.logs.paths == ["a.log", "/var/log/*.json"])
        #expect(try Self.load(["MONAGENT_LOGS_PATHS": " x.log ,, y.log,"]).logs.paths == ["x.log", "y.log"])
        let both = try Self.load(["MONAGENT_LOGS_PATHS": "key.log", "MONAGENT_LOG_PATHS": "alias.log"])
        #expect(both.logs.paths == ["key.log"])
        #expect(try Self.load(["MONAGENT_LOG_PATHS": ""]).logs.paths.isEmpty)
    }

    @Test func logValuesFromTheFile() throws {
        let yaml = """
            logs:
              paths: [/var/log/app/*.log, /srv/api.json]
              start_at: beginning
              poll_interval_ms: 100
              service: api
              max_line_bytes: 1024
              redact_keys: [Session-ID]
              redact_patterns: ['sk_[a-z0-9]+']
              request:
                path_keys: [url]
                duration_keys: [took]
                duration_unit: s
            """
        let logs = try Self.load(yaml: yaml).logs
        #expect(logs.paths == ["/var/log/app/*.log", "/srv/api.json"])
        #expect(logs.startAt == .beginning)
        #expect(logs.pollIntervalMs == 100)
        #expect(logs.service == "api")
        #expect(logs.maxLineBytes == 1024)
        #expect(logs.redactKeys == ["session_id"])
        #expect(logs.redactPatterns == ["sk_[a-z0-9]+"])
        #expect(logs.request.pathKeys == ["url"])
        #expect(logs.request.durationKeys == ["took"])
        #expect(logs.request.durationUnitSeconds)
        #expect(logs.request.methodKeys == ["method", "http_method"])
    }

    @Test(arguments: ["middle", "END", "", "start"])
    func badStartAtIsRefused(_ value: String) {
        let error = #expect(throws: ConfigError.self) { try Self.load(["MONAGENT_LOGS_START_AT": value]) }
        #expect(error?.key == "logs.start_at")
        #expect(error?.message.contains("'\(value)'") == true)
    }

    @Test func invalidRedactPatternNamesItsIndex() {
        let error = #expect(throws: ConfigError.self) {
            try Self.load(["MONAGENT_LOGS_REDACT_PATTERNS": "valid[0-9]+, ("])
        }
        #expect(error?.key == "logs.redact_patterns[1]")
        #expect(error?.message.contains("invalid regular expression") == true)
        let fromFile = #expect(throws: ConfigError.self) {
            try Self.load(yaml: "logs:\n  redact_patterns: ['(']\n")
        }
        #expect(fromFile?.key == "logs.redact_patterns[0]")
    }

    @Test(arguments: ["minutes", "S", "sec", ""])
    func badDurationUnitIsRefused(_ value: String) {
        let error = #expect(throws: ConfigError.self) {
            try Self.load(["MONAGENT_LOGS_REQUEST_DURATION_UNIT": value])
        }
        #expect(error?.key == "logs.request.duration_unit")
    }

    @Test(arguments: [
        ("MONAGENT_LOGS_POLL_INTERVAL_MS", "5", "logs.poll_interval_ms"),
        ("MONAGENT_LOGS_MAX_LINE_BYTES", "255", "logs.max_line_bytes"),
        ("MONAGENT_LOGS_MAX_LINE_BYTES", "1k", "logs.max_line_bytes"),
    ])
    func invalidLogNumbersNameTheKey(_ variable: String, _ value: String, _ key: String) {
        let error = #expect(throws: ConfigError.self) { try Self.load([variable: value]) }
        #expect(error?.key == key)
    }

    @Test func aScalarWhereAListIsExpectedIsRefused() {
        let error = #expect(throws: ConfigError.self) { try Self.load(yaml: "logs:\n  paths: /var/log/app.log\n") }
        #expect(error?.key == "logs.paths")
        let unknown = #expect(throws: ConfigError.self) { try Self.load(yaml: "logs:\n  pathz: []\n") }
        #expect(unknown?.key == "logs.pathz")
    }
    /// Enumerated settings go through `ConfigSource.choice`: the error lists the choices and
    /// names the variable or file the bad value came from.
    @Test(arguments: [
        ("MONAGENT_REQUESTS_SOURCE", "both", "requests.source", "auto, statsd, logs"),
        ("MONAGENT_REDIS_SLOWLOG_ARGUMENTS", "some", "redis.slowlog_arguments", "none, first, all"),
    ])
    func enumeratedSettingsNameTheirOrigin(_ variable: String, _ value: String, _ key: String, _ choices: String) throws
    {
        let error = #expect(throws: ConfigError.self) { try Self.load([variable: value]) }
        #expect(error?.key == key)
        #expect(error?.message.contains(choices) == true)
        #expect(error?.message.contains("env \(variable)") == true)
        let fromFile = #expect(throws: ConfigError.self) {
            try Self.load(yaml: "\(key.split(separator: ".")[0]):\n  \(key.split(separator: ".")[1]): \(value)\n")
        }
        #expect(fromFile?.key == key)
        // The first choice is accepted.
        _ = try Self.load([variable: String(choices.prefix(while: { $0 != "," }))])
    }
}
