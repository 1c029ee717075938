extension MetricCatalogue {
    /// The families read verbatim from a numeric `INFO` field (`source: info(…)`): the Redis
    /// collector emits each of them, so declaring one here is all it takes to collect it.
    public static let redisInfoFields: [MetricDescriptor] = redis.filter { $0.source != nil }

    private static func info(_ section: String, _ key: String) -> MetricSource {
        .redisInfo(section: section, key: key)
    }

    /// The Redis source (`redis:` in the agent config).
    static let redis: [MetricDescriptor] = [
        .gauge("mon_redis_up", "1 when the last cycle reached Redis, 0 otherwise."),
        .gauge("mon_redis_info", labels: ["version", "role", "mode"], "Always 1; server version, role and mode."),
        .gauge(
            "mon_redis_uptime_seconds", source: info("server", "uptime_in_seconds"),
            "Seconds since the Redis server started."),
        .gauge(
            "mon_redis_connected_clients", source: info("clients", "connected_clients"),
            "Client connections (INFO connected_clients)."),
        .gauge(
            "mon_redis_blocked_clients", source: info("clients", "blocked_clients"),
            "Clients blocked on a blocking command."),
        .gauge(
            "mon_redis_max_clients", source: info("clients", "maxclients"),
            "The maxclients setting: most client connections Redis accepts (INFO maxclients, Redis 7+)."),
        .gauge(
            "mon_redis_memory_used_bytes", source: info("memory", "used_memory"),
            "Memory allocated by Redis (used_memory)."),
        .gauge("mon_redis_memory_peak_bytes", source: info("memory", "used_memory_peak"), "Peak of used_memory."),
        .gauge(
            "mon_redis_memory_max_bytes", source: info("memory", "maxmemory"), "The maxmemory setting (0: no limit)."),
        .gauge(
            "mon_redis_memory_fragmentation_ratio", source: info("memory", "mem_fragmentation_ratio"),
            "RSS / used_memory (mem_fragmentation_ratio)."),
        .gauge("mon_redis_memory_used_ratio", "used_memory / maxmemory (0…1), when maxmemory is set."),
        .gauge(
            "mon_redis_ops_per_second", source: info("stats", "instantaneous_ops_per_sec"),
            "Commands per second (instantaneous_ops_per_sec)."),
        .counter(
            "mon_redis_commands_processed_total", source: info("stats", "total_commands_processed"),
            "Commands processed since the server started."),
        .counter(
            "mon_redis_evicted_keys_total", source: info("stats", "evicted_keys"), "Keys evicted because of maxmemory."),
        .gauge("mon_redis_evictions_per_second", "Keys evicted per second since the previous cycle."),
        .counter(
            "mon_redis_rejected_connections_total", source: info("stats", "rejected_connections"),
            "Connections Redis refused because maxclients was reached."),
        .counter(
            "mon_redis_expired_keys_total", source: info("stats", "expired_keys"),
            "Keys removed because their TTL ran out."),
        .gauge(
            "mon_redis_replication_offset_bytes", source: info("replication", "master_repl_offset"),
            "Replication offset (master_repl_offset); renamed from the counter mon_redis_replication_offset."),
        .gauge(
            "mon_redis_connected_slaves", source: info("replication", "connected_slaves"),
            "Replicas connected to this server (INFO connected_slaves)."),
        .gauge("mon_redis_rdb_last_bgsave_ok", "1 when the last RDB save succeeded."),
        .gauge(
            "mon_redis_rdb_changes_since_last_save", source: info("persistence", "rdb_changes_since_last_save"),
            "Writes since the last RDB save."),
        .gauge(
            "mon_redis_aof_enabled", source: info("persistence", "aof_enabled"), "1 when the append-only file is on."),
        .counter(
            "mon_redis_keyspace_hits_total", "Key lookups that found the key, without monagent's own lookups."),
        .counter(
            "mon_redis_keyspace_misses_total", "Key lookups that missed, without monagent's own lookups."),
        .gauge("mon_redis_hit_ratio", "Keyspace hits / (hits + misses) since the previous cycle (0…1)."),
        .gauge("mon_redis_db_keys", labels: ["db"], "Keys in the logical database (INFO keyspace)."),
        .gauge("mon_redis_db_expiring_keys", labels: ["db"], "Keys with a TTL in the logical database."),
        .gauge("mon_redis_db_avg_ttl_seconds", labels: ["db"], "Average TTL of expiring keys (INFO keyspace)."),
        .gauge("mon_redis_keys", "Keys in all logical databases."),
        .counter("mon_redis_command_calls_total", labels: ["command"], "Calls by command (INFO commandstats)."),
        .counter(
            "mon_redis_command_seconds_total", labels: ["command"], "Time spent by command (INFO commandstats)."),
        .counter("mon_redis_slowlog_entries_total", "New SLOWLOG entries seen by monagent."),
        .counter(
            "mon_redis_slowlog_lost_total", "SLOWLOG entries rotated out before monagent could read them."),
        .counter("mon_redis_scan_walks_completed_total", "Completed SCAN walks over the cache key types."),
        .counter(
            "mon_redis_top_keys_refused_total",
            "MEMORY USAGE / OBJECT FREQ calls of the top-keys sampling that Redis refused (ACL, renamed command)."),
        .gauge("mon_redis_cache_keys", labels: ["type"], "Keys under the cache type's prefix (last SCAN walk)."),
        .gauge("mon_redis_cache_keys_without_ttl", labels: ["type"], "Keys of the cache type without a TTL."),
        .gauge("mon_redis_cache_avg_ttl_seconds", labels: ["type"], "Average remaining TTL of the cache type's keys."),
        .gauge(
            "mon_redis_cache_sampled_key_bytes", labels: ["type"],
            "Average memory per key of the cache type (MEMORY USAGE on a sample)."),
        .gauge(
            "mon_redis_cache_configured_ttl_seconds", labels: ["type"], "The cache type's configured ttl_seconds."),
        .gauge(
            "mon_redis_cache_ttl_keys", labels: ["type", "ttl_bucket"],
            "Keys of the cache type with a remaining TTL at most ttl_bucket seconds (cumulative, \"+Inf\" for all; was label `le`)."
        ),
    ]
}
