import Logging
import MonCore

/// Samples a Redis server every cycle: INFO (memory, hits, evictions, clients, keyspace,
/// command stats), new SLOWLOG entries as events, and a budgeted SCAN walk that counts
/// keys and TTLs per cache type; a walk starts every `redis.scan_interval_seconds` (60) and
/// the counts of the last completed walk are reported every cycle.
///
/// One connection on its own thread. When Redis is away it reports `mon_redis_up 0`,
/// logs one error per backoff step and retries; the other sources are unaffected.
public actor RedisCollector: RemoteCollector {
    public typealias Output = SourceOutput

    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let config: RedisSourceConfig
    let logger: Logger
    private var connection: RedisConnection?
    private var rates = CounterRates()
    private var slowlog = SlowlogTracker()
    private var slowlogTotals = (entries: 0.0, lost: 0.0)
    private var walk: CacheKeyWalk
    /// The biggest / most used keys of the walk in progress (`RedisTopKeys`).
    private var topKeys: RedisTopKeys
    /// INFO's `maxmemory_policy`: `OBJECT FREQ` is asked only under an LFU policy.
    private var maxmemoryPolicy: String?
    /// Sampling commands Redis refused (ACL, renamed), and those already logged.
    private var refusedSamples = 0.0
    private var loggedRefusals: Set<String> = []
    /// The walk's own PTTL lookups count as keyspace hits/misses in Redis; they are
    /// subtracted so the agent does not inflate the application's hit rate.
    private var ownLookups = (hits: 0.0, misses: 0.0, uptime: Int64(0))
    private var backoff = Backoff(initial: 1, maximum: 60)
    private var nextAttemptMs: Int64 = 0
    private var wasUp = true
    /// Most commands reported by `INFO commandstats` (bounded label set).
    static let maxCommands = 200

    public init(config: RedisSourceConfig, logger: Logger) {
        executor = ThreadExecutor(name: "redis-collector")
        self.config = config
        self.logger = logger
        walk = CacheKeyWalk(types: config.cacheTypes)
        topKeys = RedisTopKeys(limit: config.topKeys)
    }

    var redactedURL: String { RedisURL.redact(config.url) }

    public func collect(timestampMs: Int64) -> Output {
        var output = Output()
        guard timestampMs >= nextAttemptMs else {
            output.samples.append(Sample("mon_redis_up", value: 0, timestampMs: timestampMs))
            return output
        }
        do {
            let redis = try connect()
            try collectInfo(redis, into: &output, at: timestampMs)
            try collectSlowlog(redis, into: &output, at: timestampMs)
            try walkKeys(redis, into: &output, at: timestampMs)
            output.samples.append(Sample("mon_redis_up", value: 1, timestampMs: timestampMs))
            if !wasUp { logger.info("Redis is reachable again", metadata: ["url": "\(redactedURL)"]) }
            wasUp = true
            backoff.reset()
        } catch {
            connection = nil
            let delay = backoff.next()
            nextAttemptMs = timestampMs + Int64(delay * 1000)
            wasUp = false
            logger.error(
                "Redis collection failed, retrying",
                metadata: [
                    "url": "\(redactedURL)", "error": "\(error)", "retry_in_seconds": "\((delay * 10).rounded() / 10)",
                ]
            )
            output.samples.removeAll()
            output.events.removeAll()
            output.samples.append(Sample("mon_redis_up", value: 0, timestampMs: timestampMs))
        }
        rates.endCycle()
        return output
    }

    private func connect() throws -> RedisConnection {
        if let connection, !connection.isBroken { return connection }
        let url = try RedisURL(config.url)
        let fresh = try RedisConnection(
            url: url, password: config.password, timeoutSeconds: Double(config.timeoutMs) / 1000)
        _ = try? fresh.command(["CLIENT", "SETNAME", "monagent"])
        connection = fresh
        return fresh
    }

    /// Runs a command and turns an error reply into a thrown error.
    private func run(_ redis: RedisConnection, _ arguments: [String]) throws -> RedisReply {
        let reply = try redis.command(arguments)
        if case .error(let message) = reply {
            throw RedisError(code: .rejected, message: "\(arguments.first ?? "") failed: \(message)")
        }
        return reply
    }

    private func collectInfo(_ redis: RedisConnection, into output: inout Output, at ms: Int64) throws {
        let reply = try run(redis, ["INFO", "all"])
        let info: RedisInfo
        if case .string(let bytes) = reply, !bytes.contains(where: { $0 >= 0x80 }) {
            // ASCII (as INFO is): parsed on its bytes, without a String of the whole reply.
            info = try RedisInfoParser.parse(bytes: bytes)
        } else {
            guard let text = reply.text else { throw RedisError(code: .protocol, message: "INFO returned no text") }
            info = try RedisInfoParser.parse(text)
        }
        func gauge(_ name: String, _ value: Double?, _ labels: Labels = Labels()) {
            if let value { output.samples.append(Sample(name, labels, value: value, timestampMs: ms)) }
        }
        func counter(_ name: String, _ value: Double?, _ labels: Labels = Labels()) {
            if let value { output.samples.append(Sample(name, labels, value: value, kind: .counter, timestampMs: ms)) }
        }
        gauge(
            "mon_redis_info",
            1,
            ["version": info.version ?? "unknown", "role": info.role ?? "unknown", "mode": info.mode ?? "unknown"]
        )
        output.samples += Self.declaredSamples(info, timestampMs: ms)
        maxmemoryPolicy = info.value("memory", "maxmemory_policy")
        if let used = info.usedMemoryBytes, let max = info.maxmemoryBytes, max > 0 {
            gauge("mon_redis_memory_used_ratio", Double(used) / Double(max))
        }
        if let evicted = info.evictedKeys,
            let perSecond = rates.rate("evicted", value: Double(evicted), timestampMs: ms)
        {
            gauge("mon_redis_evictions_per_second", perSecond)
        }
        gauge("mon_redis_rdb_last_bgsave_ok", info.rdbLastBgsaveStatus.map { $0 == "ok" ? 1 : 0 })
        if let uptime = info.uptimeSeconds {
            // A restarted server starts its counters again; so do our own lookups.
            if uptime < ownLookups.uptime { ownLookups = (0, 0, uptime) }
            ownLookups.uptime = uptime
        }
        if let rawHits = info.keyspaceHits, let rawMisses = info.keyspaceMisses {
            let hits = max(0, Double(rawHits) - ownLookups.hits)
            let misses = max(0, Double(rawMisses) - ownLookups.misses)
            counter("mon_redis_keyspace_hits_total", hits)
            counter("mon_redis_keyspace_misses_total", misses)
            let hitRate = rates.rate("hits", value: hits, timestampMs: ms)
            let missRate = rates.rate("misses", value: misses, timestampMs: ms)
            if let hitRate, let missRate, hitRate + missRate > 0 {
                gauge("mon_redis_hit_ratio", hitRate / (hitRate + missRate))
            }
        }
        var totalKeys = 0.0
        for (db, stats) in info.keyspace {
            let labels: Labels = ["db": String(db)]
            totalKeys += Double(stats.keys)
            gauge("mon_redis_db_keys", Double(stats.keys), labels)
            gauge("mon_redis_db_expiring_keys", Double(stats.expires), labels)
            gauge("mon_redis_db_avg_ttl_seconds", Double(stats.averageTTLMillis) / 1000, labels)
        }
        gauge("mon_redis_keys", totalKeys)
        for (command, stats) in info.commandStats.sorted(by: { $0.value.calls > $1.value.calls }).prefix(
            Self.maxCommands)
        {
            let labels: Labels = ["command": command]
            counter("mon_redis_command_calls_total", Double(stats.calls), labels)
            counter("mon_redis_command_seconds_total", Double(stats.usec) / 1_000_000, labels)
        }
    }

    /// A sample of every family the catalogue declares with an INFO source
    /// (`MetricCatalogue.redisInfoFields`), read as is; a field that is absent or not a
    /// finite number is left out.
    static func declaredSamples(_ info: RedisInfo, timestampMs: Int64) -> [Sample] {
        MetricCatalogue.redisInfoFields.compactMap { descriptor in
            guard case .redisInfo(let section, let key)? = descriptor.source,
                let value = info.value(section, key).flatMap(Double.init), value.isFinite
            else { return nil }
            return Sample(
                descriptor.name, value: value, kind: descriptor.type == .counter ? .counter : .gauge,
                timestampMs: timestampMs)
        }
    }

    private func collectSlowlog(_ redis: RedisConnection, into output: inout Output, at ms: Int64) throws {
        let entries = try SlowlogParser.parse(try run(redis, ["SLOWLOG", "GET", "128"]))
        let step = slowlog.update(entries)
        slowlogTotals.entries += Double(step.new.count)
        slowlogTotals.lost += Double(step.lost)
        if step.lost > 0 {
            logger.warning("SLOWLOG wrapped between two readings", metadata: ["lost_entries": "\(step.lost)"])
        }
        for entry in step.new {
            let arguments: [String]
            switch config.slowlogArguments {
            case .none: arguments = Array(entry.arguments.prefix(1))
            case .first: arguments = Array(entry.arguments.prefix(2))
            case .all: arguments = entry.arguments
            }
            output.events.append(
                Event(
                    kind: "redis_slowlog",
                    key: String(entry.id),
                    timestampMs: entry.timestamp * 1000,
                    payload: .object([
                        ("id", .number(Double(entry.id))),
                        ("duration_us", .number(Double(entry.durationMicros))),
                        ("command", .string(entry.arguments.first ?? "")),
                        ("arguments", .array(arguments.map { .string(String($0.prefix(256))) })),
                        ("redacted_arguments", .number(Double(entry.arguments.count - arguments.count))),
                        ("client_address", .string(entry.clientAddress)),
                        ("client_name", .string(entry.clientName)),
                    ])
                )
            )
        }
        output.samples.append(
            Sample("mon_redis_slowlog_entries_total", value: slowlogTotals.entries, kind: .counter, timestampMs: ms)
        )
        output.samples.append(
            Sample("mon_redis_slowlog_lost_total", value: slowlogTotals.lost, kind: .counter, timestampMs: ms)
        )
    }

    /// One budgeted step of the SCAN walk; publishes per-type totals when a walk completes.
    private func walkKeys(_ redis: RedisConnection, into output: inout Output, at ms: Int64) throws {
        let started = ContinuousClock.now
        let cap = Duration.milliseconds(Int64(config.scanTimeCapMs))
        while walk.stepDue(at: ms, intervalSeconds: config.scanIntervalSeconds) {
            let reply = try run(redis, ["SCAN", walk.cursor, "COUNT", String(config.scanCount)])
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].text,
                case .array(let keyReplies) = parts[1]
            else { throw RedisError(code: .protocol, message: "unexpected SCAN reply") }
            let keys = keyReplies.compactMap(\.text)
            let ttls = keys.isEmpty ? [] : try redis.pipeline(keys.map { ["PTTL", $0] })
            for reply in ttls {
                if case .integer(-2) = reply { ownLookups.misses += 1 } else { ownLookups.hits += 1 }
            }
            let sampled = keys.prefix(config.memorySamples)
            let memory: [Int64?] =
                sampled.isEmpty
                ? []
                : try redis.pipeline(sampled.map { ["MEMORY", "USAGE", $0, "SAMPLES", "0"] }).map { reply in
                    if case .integer(let bytes) = reply { return bytes } else { return nil }
                }
            if config.topKeys > 0 { try sampleTopKeys(redis, keyReplies.prefix(config.topKeysSamples)) }
            walk.add(
                keys: keys,
                pttls: ttls.map { reply in if case .integer(let value) = reply { return value } else { return -2 } },
                memory: memory,
                nextCursor: next
            )
            if next == "0", config.topKeys > 0 {
                output.events.append(topKeys.event(timestampMs: ms, policy: maxmemoryPolicy))
                topKeys = RedisTopKeys(limit: config.topKeys)
            }
            if next == "0" || started.duration(to: .now) >= cap { break }
        }
        output.samples.append(
            Sample(
                "mon_redis_scan_walks_completed_total", value: Double(walk.walksCompleted), kind: .counter,
                timestampMs: ms)
        )
        if config.topKeys > 0 {
            output.samples.append(
                Sample("mon_redis_top_keys_refused_total", value: refusedSamples, kind: .counter, timestampMs: ms))
        }
        guard let totals = walk.completed else { return }
        let configured = Dictionary(config.cacheTypes.map { ($0.name, $0.ttlSeconds) }, uniquingKeysWith: { $1 })
        for (name, type) in totals.sorted(by: { $0.key < $1.key }) {
            let labels: Labels = ["type": name]
            output.samples.append(Sample("mon_redis_cache_keys", labels, value: Double(type.keys), timestampMs: ms))
            output.samples.append(
                Sample("mon_redis_cache_keys_without_ttl", labels, value: Double(type.keysWithoutTTL), timestampMs: ms)
            )
            if let average = type.averageTTLSeconds {
                output.samples.append(
                    Sample("mon_redis_cache_avg_ttl_seconds", labels, value: average, timestampMs: ms))
            }
            if let bytes = type.averageSampledBytes {
                output.samples.append(
                    Sample("mon_redis_cache_sampled_key_bytes", labels, value: bytes, timestampMs: ms))
            }
            if let ttl = configured[name] ?? nil {
                output.samples.append(
                    Sample("mon_redis_cache_configured_ttl_seconds", labels, value: ttl, timestampMs: ms)
                )
            }
            var cumulative = 0
            for (index, count) in type.ttlBucketCounts.enumerated() {
                cumulative += count
                let bound = index < CacheKeyWalk.ttlBuckets.count ? String(Int(CacheKeyWalk.ttlBuckets[index])) : "+Inf"
                output.samples.append(
                    Sample(
                        "mon_redis_cache_ttl_keys",
                        ["type": name, "ttl_bucket": bound],
                        value: Double(cumulative),
                        timestampMs: ms
                    )
                )
            }
        }
    }

    /// Asks `MEMORY USAGE` (default `SAMPLES`: bounded cost on big aggregates) and, under an
    /// LFU policy, `OBJECT FREQ` of the keys of one SCAN reply, on their raw bytes (a key that
    /// is not UTF-8 is sampled too). A refused command is counted, logged once, and the walk
    /// goes on.
    private func sampleTopKeys(_ redis: RedisConnection, _ replies: ArraySlice<RedisReply>) throws {
        let keys: [[UInt8]] = replies.compactMap { reply in
            if case .string(let bytes) = reply { return bytes } else { return nil }
        }
        guard !keys.isEmpty else { return }
        let lfu = maxmemoryPolicy?.hasSuffix("-lfu") == true
        var commands = keys.map { [Array("MEMORY".utf8), Array("USAGE".utf8), $0] }
        if lfu { commands += keys.map { [Array("OBJECT".utf8), Array("FREQ".utf8), $0] } }
        let answers = try redis.pipeline(binary: commands)
        func value(_ reply: RedisReply, _ command: String) -> Int64? {
            switch reply {
            case .integer(let value): return value
            case .error(let message):
                refusedSamples += 1
                topKeys.refused(command, message: message)
                if loggedRefusals.insert(command).inserted {
                    logger.warning(
                        "Redis refused a top-keys sampling command; top keys go on without it",
                        metadata: ["command": "\(command)", "error": "\(message.prefix(200))"])
                }
                return nil
            default: return nil
            }
        }
        let patterns = Dictionary(
            config.cacheTypes.map { ($0.name, $0.pattern) }, uniquingKeysWith: { first, _ in first })
        for (index, key) in keys.enumerated() {
            var frequency: Int64?
            if lfu {
                // OBJECT FREQ counts as a keyspace lookup in Redis (MEMORY USAGE does not).
                let reply = answers[keys.count + index]
                if case .integer = reply { ownLookups.hits += 1 } else if case .null = reply { ownLookups.misses += 1 }
                frequency = value(reply, "OBJECT FREQ")
            }
            let type = walk.type(of: String(decoding: key, as: UTF8.self))
            topKeys.add(
                key: key, type: type, pattern: patterns[type], bytes: value(answers[index], "MEMORY USAGE"),
                frequency: frequency)
        }
    }
}
