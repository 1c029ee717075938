// Fuzz target: what the Redis collector reads from a server.
//
// Every input goes through both paths:
//  - as raw RESP2 bytes: RESPParser.parse, then the reply handed to SlowlogParser.parse
//    (the SLOWLOG GET reply), RedisInfoParser.parse (the INFO reply) and a SlowlogTracker;
//  - as the text of an INFO reply: RedisInfoParser.parse(String).
// Invariants:
//  - a parsed reply, written back as RESP, parses to the same reply (and writing is stable);
//  - slowlog entries have non-negative id, timestamp and duration; the tracker never
//    reports a negative loss nor an entry twice;
//  - every typed INFO accessor is non-nil when its key is present in its section
//    (the parser checked the value), mem_fragmentation_ratio is finite;
//  - keyspace/commandstats/errorstats entries come from lines of the right shape.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit

func resp(_ reply: RedisReply, into out: inout [UInt8]) {
    func line(_ prefix: String, _ text: String) { out += Array((prefix + text + "\r\n").utf8) }
    switch reply {
    case .status(let text): line("+", text)
    case .error(let text): line("-", text)
    case .integer(let value): line(":", String(value))
    case .string(let bytes):
        line("$", String(bytes.count))
        out += bytes
        out += [13, 10]
    case .null: line("$", "-1")
    case .array(let elements):
        line("*", String(elements.count))
        for element in elements { resp(element, into: &out) }
    }
}

func checkInfo(_ info: RedisInfo) {
    let integerAccessors: [(String, String, Int64?)] = [
        ("server", "uptime_in_seconds", info.uptimeSeconds),
        ("clients", "connected_clients", info.connectedClients),
        ("clients", "blocked_clients", info.blockedClients),
        ("memory", "used_memory", info.usedMemoryBytes),
        ("memory", "used_memory_peak", info.usedMemoryPeakBytes),
        ("memory", "maxmemory", info.maxmemoryBytes),
        ("stats", "keyspace_hits", info.keyspaceHits),
        ("stats", "keyspace_misses", info.keyspaceMisses),
        ("stats", "evicted_keys", info.evictedKeys),
        ("stats", "expired_keys", info.expiredKeys),
        ("stats", "instantaneous_ops_per_sec", info.instantaneousOpsPerSec),
        ("stats", "total_commands_processed", info.totalCommandsProcessed),
        ("replication", "master_repl_offset", info.masterReplOffset),
        ("persistence", "rdb_changes_since_last_save", info.rdbChangesSinceLastSave),
    ]
    for (section, key, value) in integerAccessors where info.value(section, key) != nil {
        invariant(value != nil, "\(section).\(key) present but its accessor is nil")
    }
    if info.value("memory", "mem_fragmentation_ratio") != nil {
        invariant(info.memFragmentationRatio?.isFinite == true, "mem_fragmentation_ratio not finite")
    }
    if let flag = info.value("persistence", "aof_enabled") {
        invariant(flag == "0" || flag == "1", "aof_enabled is '\(flag)'")
    }
    for (index, _) in info.keyspace {
        invariant(index >= 0, "negative db index \(index)")
    }
    invariant(info.commandStats.keys.allSatisfy { !$0.isEmpty }, "empty command name")
    invariant(info.errorCounts.keys.allSatisfy { !$0.isEmpty }, "empty error prefix")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)

    if let reply = try? RESPParser.parse(input) {
        var written: [UInt8] = []
        resp(reply, into: &written)
        let again = try? RESPParser.parse(written)
        invariant(again == reply, "RESP reply changed when written back and parsed again")
        var writtenAgain: [UInt8] = []
        resp(again!, into: &writtenAgain)
        invariant(written == writtenAgain, "RESP writing is not stable")

        if let entries = try? SlowlogParser.parse(reply) {
            for entry in entries {
                invariant(
                    entry.id >= 0 && entry.timestamp >= 0 && entry.durationMicros >= 0,
                    "negative slowlog field in \(entry)")
            }
            var tracker = SlowlogTracker()
            // Three readings: the first sets the position, later ones report new entries.
            for reading in [Array(entries.dropFirst()), entries, Array(entries.prefix(1))] {
                let step = tracker.update(reading)
                invariant(step.lost >= 0, "negative slowlog loss \(step.lost)")
                invariant(step.new.count <= reading.count, "more new slowlog entries than read")
                invariant(
                    zip(step.new, step.new.dropFirst()).allSatisfy { $0.id <= $1.id }, "new entries not oldest first")
            }
        }
        if let info = try? RedisInfoParser.parse(reply) { checkInfo(info) }
    }

    if let info = try? RedisInfoParser.parse(String(decoding: input, as: UTF8.self)) {
        checkInfo(info)
    }
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzRedis_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
