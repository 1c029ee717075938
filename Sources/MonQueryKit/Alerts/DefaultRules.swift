import MonCore

/// The rules monquery ships with (`alerts.default_rules: true`): every threshold of the
/// product brief, plus the system, API, agent and ingest ones. A rule of the same name in
/// `alerts.rules` or `alerts.rules_dir` replaces one of these.
public enum DefaultAlertRules {
    public static let yaml = """
        - name: RedisHitRateLow
          metric: mon_redis_hit_ratio
          aggregate: avg
          window: 15m
          scale: 100
          op: "<"
          threshold: \(n(Thresholds.redisHitPercent.limit))
          resolve: \(n(Thresholds.redisHitPercent.resolve))
          for: 5m
          severity: warning
          summary: "Redis hit rate {{value}} % on {{host}} (< {{threshold}} %): cache ineffective"
          hint: "Check key TTLs per cache type and whether the application's key pattern changed."
        - name: RedisMemoryHigh
          metric: mon_redis_memory_used_ratio
          scale: 100
          op: ">"
          threshold: \(n(Thresholds.redisMemoryPercent.limit))
          resolve: \(n(Thresholds.redisMemoryPercent.resolve))
          for: 5m
          severity: warning
          summary: "Redis memory {{value}} % of maxmemory on {{host}}: eviction risk"
          hint: "Raise maxmemory or shorten TTLs of the biggest cache types (/redis/keys)."
        - name: RedisEvictions
          metric: mon_redis_evicted_keys_total
          aggregate: increase
          window: 1h
          op: ">"
          threshold: \(n(Thresholds.redisEvictionsPerHour.limit))
          severity: warning
          summary: "{{value}} Redis evictions in the last hour on {{host}} (> {{threshold}}/h)"
          hint: "TTL too high? Keys outlive their usefulness and push others out."
        - name: RedisConnectionsRejected
          metric: mon_redis_rejected_connections_total
          aggregate: increase
          window: 5m
          op: ">"
          threshold: \(n(Thresholds.redisRejectedConnections.limit))
          severity: critical
          summary: "Redis refused {{value}} connections in 5 min on {{host}}: maxclients reached"
          hint: "Raise maxclients, or find the client that leaks connections (CLIENT LIST; clients in /redis/status)."
        - name: PostgresSlowQueries
          metric: mon_postgres_statements_slow_total
          aggregate: increase
          window: 1h
          op: ">"
          threshold: \(n(Thresholds.postgresSlowPerHour.limit))
          severity: warning
          summary: "{{value}} slow statements in the last hour on {{host}} (> {{threshold}}/h): optimisation needed"
          hint: "See /postgres/slow_queries for the statements, their plans and index suggestions."
        - name: PostgresCacheHitLow
          metric: mon_postgres_cache_hit_ratio
          aggregate: avg
          window: 15m
          scale: 100
          op: "<"
          threshold: \(n(Thresholds.postgresCacheHitPercent.limit))
          resolve: \(n(Thresholds.postgresCacheHitPercent.resolve))
          for: 5m
          severity: warning
          summary: "PostgreSQL cache hit ratio {{value}} % on {{host}} (< {{threshold}} %)"
          hint: "Missing indexes? Sequential scans on big tables show in /postgres/tables."
        - name: PostgresConnectionsHigh
          metric: mon_postgres_connections_used_ratio
          scale: 100
          op: ">"
          threshold: \(n(Thresholds.postgresConnectionsPercent.limit))
          resolve: \(n(Thresholds.postgresConnectionsPercent.resolve))
          for: 2m
          severity: critical
          summary: "PostgreSQL connections at {{value}} % of max_connections on {{host}}: saturation risk"
          hint: "Look for idle-in-transaction sessions and the application's pool size."
        - name: HostCPUHigh
          metric: mon_host_cpu_usage_ratio
          labels: {cpu: all}
          aggregate: avg
          window: 5m
          scale: 100
          op: ">"
          threshold: \(n(Thresholds.hostCPUPercent.limit))
          resolve: \(n(Thresholds.hostCPUPercent.resolve))
          for: 5m
          severity: warning
          summary: "CPU {{value}} % on {{host}} (> {{threshold}} %)"
          hint: "Which process group uses it: /system/cpu per process."
        - name: HostMemoryHigh
          metric: mon_host_memory_used_ratio
          scale: 100
          op: ">"
          threshold: \(n(Thresholds.hostMemoryPercent.limit))
          resolve: \(n(Thresholds.hostMemoryPercent.resolve))
          for: 5m
          severity: warning
          summary: "Memory {{value}} % used on {{host}} (> {{threshold}} %)"
          hint: "Check per-process RSS in /system/memory."
        - name: APIErrorRateHigh
          signal: api_error_rate_percent
          window: 5m
          op: ">"
          threshold: \(n(Thresholds.apiErrorPercent.limit))
          resolve: \(n(Thresholds.apiErrorPercent.resolve))
          for: 1m
          min_requests: 20
          severity: critical
          summary: "API 5xx rate {{value}} % on {{host}} (> {{threshold}} %)"
          hint: "Top errors in /metrics?type=api and error logs in /logs?level=error."
        - name: APILatencyP95High
          signal: api_latency_p95_ms
          window: 5m
          op: ">"
          threshold: \(n(Thresholds.apiLatencyP95Ms.limit))
          resolve: \(n(Thresholds.apiLatencyP95Ms.resolve))
          for: 5m
          min_requests: 20
          severity: warning
          summary: "API P95 {{value}} ms on {{host}} (> {{threshold}} ms)"
          hint: "Check slow queries or cache hit rate."
        - name: AgentSilent
          signal: agent_silence_intervals
          op: ">"
          threshold: \(n(Thresholds.agentSilenceIntervals.limit))
          severity: critical
          summary: "No data from {{host}} for {{value}} collection intervals"
          hint: "Is monagent running there (systemctl status monagent)? Is the ingest socket reachable?"
        - name: IngestLagHigh
          signal: ingest_lag_seconds
          op: ">"
          threshold: \(n(Thresholds.ingestLagSeconds.limit))
          resolve: \(n(Thresholds.ingestLagSeconds.resolve))
          for: 2m
          severity: warning
          summary: "Batches reach PostgreSQL {{value}} s after collection (> {{threshold}} s)"
          hint: "PostgreSQL slow or an agent replaying a long spool: see /health/detailed."
        - name: FilesystemAlmostFull
          metric: mon_host_filesystem_used_ratio
          scale: 100
          op: ">"
          threshold: \(n(Thresholds.filesystemUsedPercent.limit))
          resolve: \(n(Thresholds.filesystemUsedPercent.resolve))
          for: 2m
          severity: warning
          summary: "File system {{labels}} on {{host}} is {{value}} % full (> {{threshold}} %)"
          hint: "Which mount point and how fast it grows: /system/disk. Free space before writes fail."
        - name: FilesystemFullSoon
          signal: filesystem_hours_to_full
          window: 1h
          op: "<"
          threshold: \(n(Thresholds.filesystemHoursToFull.limit))
          resolve: \(n(Thresholds.filesystemHoursToFull.resolve))
          for: 5m
          severity: warning
          summary: "File system {{labels}} on {{host}} full in {{value}} h at the last hour's rate (< {{threshold}} h)"
          hint: "What fills it and how fast: /system/disk. Free space or grow the volume before writes fail."
        - name: PostgresLockWaits
          metric: mon_postgres_lock_wait_longest_seconds
          op: ">"
          threshold: \(n(Thresholds.postgresLockWaitSeconds.limit))
          for: 30s
          severity: warning
          detail: postgres_blockers
          summary: "A PostgreSQL session on {{host}} has waited {{value}} s on a lock (> {{threshold}} s): {{detail}}"
          hint: "Every blocker and its waiters: blocking_trees in /postgres/connections. End the blocker's transaction (pg_cancel_backend; pg_terminate_backend when it is idle in transaction)."
        - name: PostgresIdleInTransaction
          metric: mon_postgres_idle_in_transaction_longest_seconds
          op: ">"
          threshold: \(n(Thresholds.postgresIdleInTransactionSeconds.limit))
          for: 1m
          severity: warning
          summary: "A PostgreSQL session on {{host}} is idle in transaction for {{value}} s (> {{threshold}} s)"
          hint: "An application forgot COMMIT/ROLLBACK: it holds locks and blocks vacuum (idle_in_transaction_session_timeout)."
        """

    /// A threshold as YAML text.
    private static func n(_ value: Double?) -> String { Thresholds.text(value ?? 0) }
}
