import MonCore
import MonQueryKit

extension API {
    /// `checks.redis` of `/health/detailed`: per host with a Redis source, from the agent's
    /// last report in the cache: `reachable` (`mon_redis_up`), `used_memory_bytes`,
    /// `maxmemory_bytes` (0 = no limit) and `memory_used_percent`. Degraded when a Redis is
    /// unreachable or above `Thresholds.redisMemoryPercent` of maxmemory.
    func redisHealth(nowMs: Int64) -> (json: JSONValue, degraded: Bool) {
        var byHost: [String: [String: Double]] = [:]
        let names: Set<String> = [
            "mon_redis_up", "mon_redis_memory_used_bytes", "mon_redis_memory_max_bytes", "mon_redis_memory_used_ratio",
        ]
        for entry in cache.snapshot(nowMs: nowMs).values where names.contains(entry.key.name) {
            byHost[entry.key.host, default: [:]][entry.key.name] = entry.value.value
        }
        var degraded = false
        let hosts: [JSONValue] = byHost.keys.sorted().map { host in
            let values = byHost[host] ?? [:]
            let reachable = values["mon_redis_up"].map { $0 >= 1 }
            let ratio = values["mon_redis_memory_used_ratio"]
            if reachable == false || (ratio ?? 0) * 100 > Thresholds.redisMemoryPercent.limit {
                degraded = true
            }
            return .object([
                ("host", .string(host)),
                ("reachable", reachable.map { .bool($0) } ?? .null),
                ("used_memory_bytes", .number(values["mon_redis_memory_used_bytes"])),
                ("maxmemory_bytes", .number(values["mon_redis_memory_max_bytes"])),
                ("memory_used_percent", .number(ratio.map { $0 * 100 })),
            ])
        }
        return (.array(hosts), degraded)
    }
}
