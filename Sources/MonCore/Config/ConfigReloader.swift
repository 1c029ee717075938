import Logging
import Synchronization

/// Reloads a program's configuration in place (on SIGHUP, `ReloadService`): reads and
/// validates the whole new configuration first, then prepares everything it needs (rules
/// parsed, certificates read and matched with their keys), and only then applies it. Any
/// failure before applying refuses the reload: the reason is logged naming the key, as at
/// start, the running configuration stays in force and the program keeps running.
///
/// `plan` compares the running configuration with the new one: what changes in place (with
/// the actions that apply it), what waits for a restart (logged as such), and the
/// configuration in force afterwards (the new values of the keys applied, the running ones
/// of the others, so a key that needs a restart is reported again on every reload until then).
public final class ConfigReloader<Config: Sendable>: Sendable {
    /// A reload ready to apply: nothing has changed yet when it is returned.
    public struct Plan: Sendable {
        public var changes: ConfigChanges
        /// The configuration in force once `apply` has run.
        public var effective: Config
        /// Puts the prepared changes in force; cannot fail (everything that can was done before).
        public var apply: @Sendable () async -> Void

        public init(changes: ConfigChanges, effective: Config, apply: @escaping @Sendable () async -> Void) {
            self.changes = changes
            self.effective = effective
            self.apply = apply
        }
    }

    /// The outcome of one reload, as logged and counted.
    public enum Outcome: Sendable {
        case applied(ConfigChanges)
        case refused(any Error)
    }

    private let running: Mutex<Config>
    private let load: @Sendable () throws -> Config
    private let plan: @Sendable (_ running: Config, _ new: Config) throws -> Plan
    public let stats: ConfigReloadStats
    private let logger: Logger

    public init(
        running: Config, stats: ConfigReloadStats, logger: Logger, load: @escaping @Sendable () throws -> Config,
        plan: @escaping @Sendable (_ running: Config, _ new: Config) throws -> Plan
    ) {
        self.running = Mutex(running)
        self.stats = stats
        self.logger = logger
        self.load = load
        self.plan = plan
    }

    /// The configuration in force.
    public var current: Config { running.withLock { $0 } }

    /// One reload: the new configuration read, validated, prepared, then applied; or refused.
    /// Reloads run one at a time (`ReloadService` awaits each).
    @discardableResult
    public func reload(nowMs: Int64 = WallClock.nowMs()) async -> Outcome {
        let prepared: Plan
        do {
            prepared = try plan(current, try load())
        } catch {
            stats.recordFailure()
            logger.error(
                "configuration reload refused; the running configuration stays in force",
                metadata: ["error": "\(error)"])
            return .refused(error)
        }
        await prepared.apply()
        running.withLock { $0 = prepared.effective }
        stats.recordSuccess(nowMs: nowMs)
        let changes = prepared.changes
        logger.notice(
            "configuration reloaded",
            metadata: ["changed": "\(changes.applied.isEmpty ? "nothing" : changes.applied.joined(separator: ", "))"])
        if !changes.needsRestart.isEmpty {
            logger.warning(
                "configuration changes need a restart; the running values stay until then",
                metadata: ["needs_restart": "\(changes.needsRestart.joined(separator: ", "))"])
        }
        return .applied(changes)
    }
}
