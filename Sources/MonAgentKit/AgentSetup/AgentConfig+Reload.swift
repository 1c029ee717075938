import Logging
import MonCore

extension AgentConfig {
    /// The reload from `self` (in force) to `new` (read and validated): `log.level` applies in
    /// place through `applyLogLevel` (nil: it needs a restart too); every other key of the file
    /// that changed is reported as needing a restart (the agent's collectors, sources, spool
    /// and daemon connection are built once) and keeps its running value.
    public func reloadPlan(to new: AgentConfig, applyLogLevel: (@Sendable (Logger.Level) -> Void)?)
        -> ConfigReloader<AgentConfig>.Plan
    {
        var changes = ConfigChanges()
        var effective = self
        var applyLevel: (@Sendable () -> Void)? = nil
        // `log.level`, or the older top-level `log_level`: one setting under two spellings.
        let levelKeys: Set = ["log.level", "log_level"]
        for key in Set(fileValues.keys).union(new.fileValues.keys).sorted() where !levelKeys.contains(key) {
            changes.restart(key, fileValues[key], new.fileValues[key])
        }
        changes.compare("log.level", log.level, new.log.level, reloadable: applyLogLevel != nil)
        if log.level != new.log.level, let applyLogLevel {
            let level = new.log.level
            effective.log.level = level
            for key in levelKeys { effective.fileValues[key] = new.fileValues[key] }
            applyLevel = { applyLogLevel(level) }
        }
        return .init(changes: changes, effective: effective) { [applyLevel] in applyLevel?() }
    }
}
