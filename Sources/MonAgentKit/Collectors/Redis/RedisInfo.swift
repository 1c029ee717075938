import MonCore

/// The reply to `INFO`, by section, with typed accessors for the fields collectors use.
///
/// Section names are lowercased (`server`, `memory`, `keyspace`); keys are kept as Redis
/// writes them. Accessors are nil when the field is absent (an older server, or `INFO`
/// asked for other sections); a field that is present was checked to be a number by
/// `RedisInfoParser`.
public struct RedisInfo: Sendable, Hashable {
    /// One `dbN:keys=...,expires=...,avg_ttl=...` line of the keyspace section.
    public struct Keyspace: Sendable, Hashable {
        public var keys: Int64
        public var expires: Int64
        /// Average time to live of keys with an expiry, in milliseconds (0 when none or not sampled).
        public var averageTTLMillis: Int64

        public init(keys: Int64, expires: Int64, averageTTLMillis: Int64) {
            self.keys = keys
            self.expires = expires
            self.averageTTLMillis = averageTTLMillis
        }
    }

    /// One `cmdstat_<command>:calls=...,usec=...` line of the commandstats section.
    public struct CommandStats: Sendable, Hashable {
        public var calls: Int64
        /// Total CPU time spent in the command, in microseconds.
        public var usec: Int64
        /// Calls refused before running (unknown arguments, ACL, OOM); 0 before Redis 6.2.
        public var rejectedCalls: Int64
        /// Calls that ran and returned an error; 0 before Redis 6.2.
        public var failedCalls: Int64

        public init(calls: Int64, usec: Int64, rejectedCalls: Int64 = 0, failedCalls: Int64 = 0) {
            self.calls = calls
            self.usec = usec
            self.rejectedCalls = rejectedCalls
            self.failedCalls = failedCalls
        }
    }

    /// Every `key:value` line, by lowercased section name; unknown keys included.
    public var sections: [String: [String: String]]
    /// By database index: `db0` is 0.
    public var keyspace: [Int: Keyspace]
    /// By command name as Redis writes it: `get`, `client|setname`.
    public var commandStats: [String: CommandStats]
    /// Error replies by error prefix (`ERR`, `WRONGTYPE`) from `errorstat_<prefix>:count=N`.
    public var errorCounts: [String: Int64]

    public init(
        sections: [String: [String: String]] = [:],
        keyspace: [Int: Keyspace] = [:],
        commandStats: [String: CommandStats] = [:],
        errorCounts: [String: Int64] = [:]
    ) {
        self.sections = sections
        self.keyspace = keyspace
        self.commandStats = commandStats
        self.errorCounts = errorCounts
    }

    /// The raw value of `key` in `section` (lowercase), nil when absent.
    public func value(_ section: String, _ key: String) -> String? { sections[section]?[key] }

    public var version: String? { value("server", "redis_version") }
    /// `standalone`, `sentinel` or `cluster`.
    public var mode: String? { value("server", "redis_mode") }
    /// `master` or `slave`.
    public var role: String? { value("replication", "role") }
    public var uptimeSeconds: Int64? { integer("server", "uptime_in_seconds") }
    public var connectedClients: Int64? { integer("clients", "connected_clients") }
    public var blockedClients: Int64? { integer("clients", "blocked_clients") }
    public var usedMemoryBytes: Int64? { integer("memory", "used_memory") }
    public var usedMemoryPeakBytes: Int64? { integer("memory", "used_memory_peak") }
    /// The `maxmemory` limit in bytes; 0 means no limit.
    public var maxmemoryBytes: Int64? { integer("memory", "maxmemory") }
    public var memFragmentationRatio: Double? { value("memory", "mem_fragmentation_ratio").flatMap(Double.init) }
    public var keyspaceHits: Int64? { integer("stats", "keyspace_hits") }
    public var keyspaceMisses: Int64? { integer("stats", "keyspace_misses") }
    public var evictedKeys: Int64? { integer("stats", "evicted_keys") }
    public var expiredKeys: Int64? { integer("stats", "expired_keys") }
    public var instantaneousOpsPerSec: Int64? { integer("stats", "instantaneous_ops_per_sec") }
    public var totalCommandsProcessed: Int64? { integer("stats", "total_commands_processed") }
    public var masterReplOffset: Int64? { integer("replication", "master_repl_offset") }
    /// `ok` or `err`.
    public var rdbLastBgsaveStatus: String? { value("persistence", "rdb_last_bgsave_status") }
    public var aofEnabled: Bool? { value("persistence", "aof_enabled").map { $0 == "1" } }
    /// `ok` or `err`.
    public var aofLastWriteStatus: String? { value("persistence", "aof_last_write_status") }
    public var rdbChangesSinceLastSave: Int64? { integer("persistence", "rdb_changes_since_last_save") }

    private func integer(_ section: String, _ key: String) -> Int64? { value(section, key).flatMap { Int64($0) } }
}
