import Logging
import MonCore

extension AgentConfig {
    /// The reload from `self` (in force) to `new` (read and validated): `log_level` applies in
    /// place through `applyLogLevel` (nil: it needs a restart too); every other key of the file
    /// that changed is reported as needing a restart (the agent's collectors, sources, spool
    /// and daemon connection are built once) and keeps its running value.
    public func reloadPlan(to new: AgentConfig, applyLogLevel: (@Sendable (Logger.Level) -> Void)?)
        -> ConfigReloader<AgentConfig>.Plan
    {
        var changes = ConfigChanges()
        var effective = self
        var applyLevel: (@Sendable () -> Void)? = nil
        for key in Set(fileValues.keys).union(new.fileValues.keys).sorted() where key != "log_level" {
            changes.restart(key, fileValues[key], new.fileValues[key])
        }
        changes.compare("log_level", logLevel, new.logLevel, reloadable: applyLogLevel != nil)
        if logLevel != new.logLevel, let applyLogLevel, let level = Logger.Level(rawValue: new.logLevel) {
            effective.logLevel = new.logLevel
            effective.fileValues["log_level"] = new.fileValues["log_level"]
            applyLevel = { applyLogLevel(level) }
        }
        return .init(changes: changes, effective: effective) { [applyLevel] in applyLevel?() }
    }
}
