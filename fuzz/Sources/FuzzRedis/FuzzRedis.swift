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
//  - keyspace/commandstats/errorstats entries come from lines of the right shape;
//  - the input as a key name (top keys): RedisTopKeys.printable has no control character,
//    is bounded, and is the name itself when that is short, printable UTF-8; the agent's
//    redis_top_keys event is JSON the daemon parses back to the same name; a viewer gets
//    the mask (`*` or a namespace-like first segment and `:*`), never the name;
//  - the input as an event payload: RedisTopKeysSnapshot reads it without trapping and a
//    viewer's copy holds only masks.
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

/// A viewer's mask is `*`, a cache type's pattern, or a namespace-like segment and `:*`.
func checkMask(_ mask: String, name: String, pattern: String?) {
    if let pattern, !pattern.isEmpty {
        invariant(mask == pattern, "mask '\(mask)' is not the pattern '\(pattern)'")
        return
    }
    guard mask != "*" else { return }
    let segment = mask.utf8.dropLast(2)
    invariant(mask.hasSuffix(":*") && name.utf8.starts(with: segment), "mask '\(mask)' of '\(name)'")
    invariant(
        (1...32).contains(segment.count)
            && segment.allSatisfy { byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E
            }, "mask '\(mask)' shows more than a namespace")
}

func checkTopKeys(_ input: [UInt8]) {
    let name = RedisTopKeys.printable(input)
    invariant(
        !name.unicodeScalars.contains { $0.properties.generalCategory == .control },
        "control character in the printed key name")
    invariant(name.count <= RedisTopKeys.maxNameCharacters * 8 + 1, "printed key name of \(name.count) characters")
    let decoded = String(decoding: input, as: UTF8.self)
    if decoded.utf8.elementsEqual(input), decoded.unicodeScalars.count <= RedisTopKeys.maxNameCharacters,
        !decoded.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    {
        invariant(name == decoded, "printable changed the printable name '\(decoded)' to '\(name)'")
    }
    var top = RedisTopKeys(limit: 2)
    top.add(key: input, type: "other", pattern: nil, bytes: Int64(input.count), frequency: 1)
    top.add(key: Array(input.prefix(input.count / 2)), type: "other", pattern: nil, bytes: 0, frequency: nil)
    let event = top.event(timestampMs: 0, policy: "allkeys-lfu")
    guard let payload = JSONValue.parse(event.payload) else {
        invariant(false, "the top-keys event is not JSON: \(event.payload.prefix(300))")
        return
    }
    let snapshot = RedisTopKeysSnapshot(payload: payload, host: "h", timestampMs: 0)
    invariant(snapshot.bySize.first?.name == name, "the daemon read back another name than the agent printed")
    invariant(snapshot.byFrequency?.count == 1, "one key had a frequency")
    let viewer = snapshot.json(names: false)
    if case .array(let entries)? = viewer["by_size"] {
        for entry in entries {
            checkMask(entry["key"]?.stringValue ?? "", name: name, pattern: nil)
        }
    }
}

/// Any JSON as a redis_top_keys payload: read without trapping; the viewer's copy is masks.
func checkTopKeysPayload(_ input: [UInt8]) {
    guard let payload = try? JSONParser.parse(input) else { return }
    let snapshot = RedisTopKeysSnapshot(payload: payload, host: "h", timestampMs: 0)
    let viewer = snapshot.json(names: false)
    invariant(viewer["names_hidden"] == .bool(true), "a viewer's copy does not say names_hidden")
    for (field, keys) in [("by_size", snapshot.bySize), ("by_frequency", snapshot.byFrequency ?? [])] {
        guard case .array(let entries)? = viewer[field] else { continue }
        invariant(entries.count == keys.count, "\(field): \(entries.count) entries for \(keys.count) keys")
        for (entry, key) in zip(entries, keys) {
            checkMask(entry["key"]?.stringValue ?? "", name: key.name, pattern: key.pattern)
        }
    }
    _ = viewer.encoded()
    _ = snapshot.json(names: true).encoded()
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
    checkTopKeys(input)
    checkTopKeysPayload(input)
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzRedis_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
