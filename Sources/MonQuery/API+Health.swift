import Glibc
import Hummingbird
import MonCore
import MonQueryKit

extension API {
    /// An agent silent for longer than this makes the daemon `degraded`.
    static let agentSilentMs: Int64 = 60_000
    /// So does a batch quarantined within this time (it was lost to the charts).
    static let quarantineRecentMs: Int64 = 15 * 60_000

    /// `GET /health/detailed` — `{"status": "healthy|degraded|unhealthy", "checks": {...}}`:
    /// PostgreSQL (round trip), rollups (lag), ingest (agents, last batch age, queue depth,
    /// quarantined batches with each agent's count and last reason — degraded for 15 min after one),
    /// disk of PostgreSQL's data directory when visible from here, memory, and each agent's
    /// own health (last cycle time, failing collectors). HTTP 503 when unhealthy. Open (no
    /// token), like `/health`; once tokens are configured, a caller without a valid one gets
    /// only the overall status and each check's status (`redacted`): no error texts, paths,
    /// hosts or agent ids.
    func healthDetailed(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let report = await healthReport(nowMs: WallClock.nowMs())
        var response = Response.json(validRole(request) == nil ? Self.redacted(report.body) : report.body)
        if report.level >= 2 { response.status = .serviceUnavailable }
        return response
    }

    /// The `/health/detailed` document and its worst level (0 healthy, 1 degraded,
    /// 2 unhealthy); the dashboard's header badge shows it too.
    func healthReport(nowMs: Int64) async -> (body: JSONValue, level: Int) {
        var checks: [(String, JSONValue)] = []
        var worst = 0
        func add(_ name: String, _ level: Int, _ fields: [(String, JSONValue)]) {
            worst = max(worst, level)
            checks.append((name, .object([("status", .string(Self.levelName(level)))] + fields)))
        }

        let probe = await store.probe()
        switch probe {
        case .success(let result):
            add("postgres", 0, [("latency_ms", .number(result.latencySeconds * 1000))])
            let lagSeconds = result.watermarkMs.map { Double(nowMs - $0) / 1000 }
            // A unit skipped in the last 24 h (its rows failed every attempt) degrades too.
            let skippedRecently = result.lastSkipped.map { nowMs - $0.atMs < 86_400_000 } ?? false
            add(
                "rollups", (lagSeconds ?? 0) > 600 || skippedRecently ? 1 : 0,
                [
                    ("watermark", result.watermarkMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                    ("lag_seconds", .number(lagSeconds)), ("late_ranges_queued", .number(Double(result.pendingRanges))),
                    ("skipped_ranges", .number(Double(result.skippedRanges))),
                    ("last_skipped", Self.skippedJSON(result.lastSkipped)),
                ])
            if let directory = result.dataDirectory, let disk = Self.diskSpace(directory) {
                let free = disk.total > 0 ? Double(disk.available) / Double(disk.total) : 1
                add(
                    "disk", free < 0.02 ? 2 : free < 0.10 ? 1 : 0,
                    [
                        ("path", .string(directory)), ("free_ratio", .number(free)),
                        ("available_bytes", .number(Double(disk.available))),
                        ("size_bytes", .number(Double(disk.total))),
                    ])
            } else {
                add(
                    "disk", 0,
                    [
                        ("path", result.dataDirectory.map { .string($0) } ?? .null),
                        ("note", "PostgreSQL's data directory is not visible from this daemon"),
                    ])
            }
        case .failure(let error):
            add("postgres", 2, [("error", .string(error.description))])
        }

        let agents = await stats.agents.values.sorted { $0.agentID < $1.agentID }
        var silent = 0
        var quarantinedRecently = 0
        let agentJSON: [JSONValue] = agents.map { agent in
            let age = agent.lastBatchMs.map { nowMs - $0 }
            if !agent.connected || (age ?? Int64.max) > Self.agentSilentMs { silent += 1 }
            if let last = agent.lastQuarantineMs, nowMs - last < Self.quarantineRecentMs { quarantinedRecently += 1 }
            // HELLO's agent_version: `0.1.0+89d9af8e1234` (the revision since issue 25), or `0.1.0`.
            let build = agent.version.map(BuildInfo.parseHelloVersion)
            return .object([
                ("agent_id", .string(agent.agentID)), ("host", .string(agent.host)),
                ("connected", .bool(agent.connected)),
                ("version", build.map { .string($0.version) } ?? .null),
                ("revision", build?.revision.map { .string($0) } ?? .null),
                ("interval_seconds", .number(agent.effectiveIntervalMs.map { $0 / 1000 })),
                ("last_batch_age_seconds", .number(age.map { Double($0) / 1000 })),
                ("lag_seconds", .number(agent.lastLagMs.map { Double($0) / 1000 })),
                ("quarantined_batches", .number(Double(agent.quarantinedBatches))),
                ("last_quarantine_reason", agent.lastQuarantineReason.map { .string($0) } ?? .null),
                ("last_quarantine", agent.lastQuarantineMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
            ])
        }
        add(
            "ingest", silent > 0 || quarantinedRecently > 0 ? 1 : 0,
            [
                ("connections", .number(Double(await stats.openConnections))),
                ("queue_batches", .number(Double(await stats.inFlightBatches))),
                ("store_failures", .number(Double(await stats.storeFailures))),
                ("quarantined_batches", .number(Double(await stats.batchesQuarantined))),
                ("agents", .array(agentJSON)),
            ])

        var memoryFields: [(String, JSONValue)] = []
        var memoryLevel = 0
        if let bytes = try? ProcFS().read("meminfo"), let memory = try? MemInfoParser.parse(bytes),
            let available = memory.availableBytes, memory.totalBytes > 0
        {
            let ratio = Double(available) / Double(memory.totalBytes)
            memoryLevel = ratio < 0.05 ? 1 : 0
            memoryFields.append(("host_available_ratio", .number(ratio)))
        }
        if let stat = try? ProcFS().read("self/stat"), let parsed = try? ProcessStatParser.parse(stat) {
            memoryFields.append(("process_resident_bytes", .number(Double(parsed.rssPages) * Double(ProcFS.pageSize))))
        }
        add("memory", memoryLevel, memoryFields)

        let agentChecks = agentHealth(nowMs: nowMs)
        add("agents", agentChecks.failing ? 1 : 0, [("hosts", agentChecks.json)])
        let redisChecks = redisHealth(nowMs: nowMs)
        add("redis", redisChecks.degraded ? 1 : 0, [("hosts", redisChecks.json)])

        if let notifications = await notificationHealth() {
            add("alert_notifications", notifications.failing ? 1 : 0, [("targets", notifications.json)])
        }

        if let remoteWrite = remoteWriteHealth() {
            add("remote_write", remoteWrite.failing ? 1 : 0, [("destinations", remoteWrite.json)])
        }

        if let reportScheduler {
            let reports = Self.reportsJSON(reportScheduler)
            add("reports", reports.failing ? 1 : 0, reports.fields)
        }

        if let lease {
            let leases = Self.leasesJSON(lease, nowMs: nowMs)
            add("leases", leases.lost ? 1 : 0, leases.fields)
        }

        let body: JSONValue = .object([
            ("status", .string(Self.levelName(worst))),
            ("checked", .string(Timestamp.iso8601(ms: nowMs))),
            ("build", Self.buildJSON(BuildInfo.current)),
            ("checks", .object(checks)),
        ])
        return (body, worst)
    }

    /// The document without details: `status`, `checked`, each check's `status`, and
    /// `"redacted": true`. Whatever a check adds later stays out unless listed here.
    static func redacted(_ body: JSONValue) -> JSONValue {
        var checks: [(String, JSONValue)] = []
        if case .object(let pairs)? = body["checks"] {
            checks = pairs.map { name, check in (name, .object([("status", check["status"] ?? .null)])) }
        }
        return .object([
            ("status", body["status"] ?? .null), ("checked", body["checked"] ?? .null), ("checks", .object(checks)),
            ("redacted", true),
        ])
    }

    /// This daemon's `version`, `revision` and `swift_version` (as in `mon_build_info`).
    static func buildJSON(_ build: BuildInfo) -> JSONValue {
        .object([
            ("version", .string(build.version)), ("revision", .string(build.revision)),
            ("swift_version", .string(build.swiftVersion)),
        ])
    }

    static func levelName(_ level: Int) -> String { ["healthy", "degraded", "unhealthy"][min(max(level, 0), 2)] }

    /// Each host's agent self-metrics from the cache: last cycle duration, failing collectors, queue.
    private func agentHealth(nowMs: Int64) -> (json: JSONValue, failing: Bool) {
        var byHost: [String: (cycle: Double?, failing: [String], queue: Double?, ms: Int64)] = [:]
        for entry in cache.snapshot(nowMs: nowMs).values {
            let (key, value) = (entry.key, entry.value)
            switch key.name {
            case "mon_agent_cycle_duration_seconds":
                var entry = byHost[key.host] ?? (nil, [], nil, 0)
                entry.cycle = value.value
                entry.ms = max(entry.ms, value.timestampMs)
                byHost[key.host] = entry
            case "mon_agent_collector_success" where value.value < 1:
                let collector = key.labels.pairs.first { $0.name == "collector" }?.value ?? "?"
                byHost[key.host, default: (nil, [], nil, 0)].failing.append(collector)
            case "mon_agent_queue_batches":
                byHost[key.host, default: (nil, [], nil, 0)].queue = value.value
            default: continue
            }
        }
        let json: JSONValue = .array(
            byHost.keys.sorted().map { host in
                let entry = byHost[host]!
                return .object([
                    ("host", .string(host)),
                    ("last_cycle_seconds", .number(entry.cycle)),
                    ("last_cycle", entry.ms > 0 ? .string(Timestamp.iso8601(ms: entry.ms)) : .null),
                    ("failing_collectors", .array(entry.failing.sorted().map { .string($0) })),
                    ("queue_batches", .number(entry.queue)),
                ])
            })
        return (json, byHost.values.contains { !$0.failing.isEmpty })
    }

    /// `checks.leases`: this instance's name and, per singleton job, whether it holds the job,
    /// who does (as of this instance's last claim), since when and when it last looked. A job
    /// whose last claim failed (the lease session broke) has no known holder: degraded.
    static func leasesJSON(_ lease: Lease, nowMs: Int64) -> (fields: [(String, JSONValue)], lost: Bool) {
        let states = lease.snapshot
        var lost = false
        let jobs: [(String, JSONValue)] = Lease.Job.allCases.map { job in
            guard let state = states[job] else { return (job.description, .null) }
            if state.checkedMs != nil, state.holder == nil { lost = true }
            return (
                job.description,
                .object([
                    ("held", .bool(state.held)),
                    ("holder", state.holder.map { .string($0) } ?? .null),
                    ("held_since", state.sinceMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                    ("checked", state.checkedMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                    ("takeovers", .number(Double(state.acquisitions))),
                ])
            )
        }
        return ([("instance", .string(lease.instance)), ("jobs", .object(jobs))], lost)
    }

    /// The latest rollup unit passed over (table `rollup_skipped` has the error text).
    static func skippedJSON(_ skip: (tier: String, range: ClosedOpenRange, atMs: Int64)?) -> JSONValue {
        guard let skip else { return .null }
        return .object([
            ("tier", .string(skip.tier)), ("from", .string(Timestamp.iso8601(ms: skip.range.startMs))),
            ("to", .string(Timestamp.iso8601(ms: skip.range.endMs))),
            ("skipped_at", .string(Timestamp.iso8601(ms: skip.atMs))),
        ])
    }

    static func diskSpace(_ path: String) -> (total: UInt64, available: UInt64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let unit = UInt64(info.f_frsize)
        return (UInt64(info.f_blocks) * unit, UInt64(info.f_bavail) * unit)
    }
}
