import Foundation
import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

private func agent(_ yaml: String, env: [String: String] = [:]) throws -> AgentConfig {
    let file = try TempFile(yaml, name: "monagent.yaml")
    defer { file.remove() }
    return try AgentConfig.load(path: file.path, environment: env)
}

@Suite struct AgentConfigTests {
    @Test func noFileGivesTheDefaults() throws {
        let config = try AgentConfig.load(path: nil, environment: [:])
        #expect(config.interval == 5)
        #expect(config.ingestSocket == "/run/monquery/ingest.sock")
        #expect(config.stateDir == "/var/lib/monagent")
        #expect(config.log.level.rawValue == "info")
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
        let path = Repository.configDirectory.appendingPathComponent("monagent.yaml").path
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
        #expect(config.log.level.rawValue == "debug")
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
