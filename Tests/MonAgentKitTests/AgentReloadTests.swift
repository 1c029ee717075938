import Logging
import MonAgentKit
import MonCore
import Synchronization
import Testing

/// `AgentConfig.reloadPlan`: the log level applies in place; every other changed key of the
/// file is named as needing a restart.
@Suite struct AgentReloadTests {
    static func config(_ yaml: String) throws -> AgentConfig {
        try AgentConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: [:]))
    }

    @Test("unchanged file: nothing to do")
    func unchanged() throws {
        let yaml = "interval: 5\ncollectors: [cpu, memory]\n"
        #expect(try Self.config(yaml).reloadPlan(to: try Self.config(yaml), applyLogLevel: nil).changes.isEmpty)
    }

    @Test("changed keys need a restart, by name; the running values stay")
    func restart() throws {
        let plan = try Self.config("interval: 5\ncollectors: [cpu, memory]\n").reloadPlan(
            to: try Self.config("interval: 2\ncollectors: [cpu]\nhost: web-9\n"), applyLogLevel: nil)
        #expect(plan.changes.needsRestart == ["collectors", "host", "interval"])
        #expect(plan.changes.applied.isEmpty)
        #expect(plan.effective.interval == 5)
    }

    @Test("log.level (or the older log_level) applies through the injected control, or needs a restart without one")
    func logLevel() async throws {
        let running = try Self.config("log_level: info\n")
        let new = try Self.config("log_level: debug\n")
        #expect(running.reloadPlan(to: new, applyLogLevel: nil).changes.needsRestart == ["log.level"])
        let applied = Mutex<Logger.Level?>(nil)
        let plan = running.reloadPlan(to: new) { level in applied.withLock { $0 = level } }
        #expect(plan.changes.applied == ["log.level"] && plan.changes.needsRestart.isEmpty)
        await plan.apply()
        #expect(applied.withLock { $0 } == .debug)
        #expect(plan.effective.reloadPlan(to: new, applyLogLevel: nil).changes.isEmpty)
    }

    @Test("a key a variable overrides is not reported when only its file value changes")
    func environmentWins() throws {
        func config(_ yaml: String) throws -> AgentConfig {
            try AgentConfig(
                source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: ["MONAGENT_INTERVAL": "1"]))
        }
        let plan = try config("interval: 5\n").reloadPlan(to: try config("interval: 2\n"), applyLogLevel: nil)
        #expect(plan.changes.isEmpty)
    }
}
