import Logging
import MonCore
import ServiceLifecycle
import Synchronization

/// Evaluates every rule each interval, stores transitions, notifies, and keeps the
/// current alerts for the API, the summary and `/metrics`.
public actor AlertEvaluator {
    /// The rules in force; a configuration reload replaces them (`replaceRules`).
    public nonisolated var rules: [AlertRule] { ruleSet.withLock { $0 } }
    private nonisolated let ruleSet: Mutex<[AlertRule]>
    let store: QueryStore
    let alerts: AlertStore
    let cache: LastValueCache
    let stats: IngestStats
    /// The webhook and the Alertmanagers (`AlertNotifiers`), if any.
    public nonisolated let webhook: (any AlertNotifier)?
    /// For rules with an `anomaly_*` signal (nil when anomaly detection is off).
    let anomalies: AnomalyMonitor?
    /// With several daemons on one database, only the holder of the alerts lease evaluates
    /// and notifies; the others mirror the firing alerts from `alert_events`.
    let lease: Lease?
    /// The fleet's request statistics and counter increases shared with the summary and the
    /// anomaly monitor (nil: the rules read their own).
    let fleet: FleetReads?
    let logger: Logger
    private var engine = AlertEngine()
    /// False until the engine holds the firing alerts of the database: at start, and again on
    /// each takeover of the lease (what the last holder notified is not notified twice).
    private var restored = false
    public private(set) var evaluations = 0
    /// Passes that mirrored the database instead of evaluating (another instance holds the lease).
    public private(set) var mirrors = 0
    public private(set) var lastEvaluationMs: Int64?
    /// Rules whose last evaluation failed (the database away, for instance), with why.
    public private(set) var failing: [String: String] = [:]
    /// Request statistics per host read during the current pass, by window: the API rules
    /// (error rate, P95, …) of one window share one scan of the fleet's histograms.
    private var passEndpointStats: [Int64: [String: [EndpointStats]]] = [:]
    /// Scans of the request histograms made by alert passes (tests check the sharing).
    public private(set) var endpointScans = 0

    public init(
        rules: [AlertRule], store: QueryStore, alerts: AlertStore, cache: LastValueCache, stats: IngestStats,
        webhook: (any AlertNotifier)?, anomalies: AnomalyMonitor? = nil, lease: Lease? = nil,
        fleet: FleetReads? = nil, logger: Logger
    ) {
        self.fleet = fleet
        self.lease = lease
        self.anomalies = anomalies
        self.ruleSet = Mutex(rules)
        self.store = store
        self.alerts = alerts
        self.cache = cache
        self.stats = stats
        self.webhook = webhook
        self.logger = logger
    }

    /// Pending and firing alerts, firing first, then critical first, then by rule and host.
    public var active: [AlertEngine.Active] {
        engine.active.values.sorted {
            ($0.state == .firing ? 0 : 1, $0.severity == .critical ? 0 : 1, $0.rule, $0.host)
                < ($1.state == .firing ? 0 : 1, $1.severity == .critical ? 0 : 1, $1.rule, $1.host)
        }
    }

    public var hasEvaluated: Bool { evaluations > 0 || mirrors > 0 }

    /// Puts `rules` in force from the next pass (a configuration reload): a changed threshold
    /// or hold applies to the alerts already pending or firing, which resolve or fire by the
    /// new rule; the alerts of a rule that is gone end at once (firing ones resolve: stored and
    /// notified by the next pass, see `retired`), and its failure is forgotten.
    public func replaceRules(_ rules: [AlertRule], nowMs: Int64 = WallClock.nowMs()) {
        ruleSet.withLock { $0 = rules }
        let names = Set(rules.map(\.name))
        let ended = engine.retire(keeping: names, nowMs: nowMs)
        retired.transitions += ended.transitions
        retired.notify += ended.notify
        failing = failing.filter { names.contains($0.key) }
    }

    /// The end of alerts whose rule a reload removed, stored and notified by the next pass of
    /// the lease holder (another instance forgets them: the holder ends its own).
    private var retired: (transitions: [AlertEngine.Transition], notify: [AlertEngine.Active]) = ([], [])

    /// Replaces the engine's alerts with the firing ones stored in `alert_events` (pending ones,
    /// never stored, start over). False when the database cannot be read.
    private func reload() async -> Bool {
        do {
            var fresh = AlertEngine()
            for alert in try await alerts.firing() where rules.contains(where: { $0.name == alert.rule }) {
                fresh.restore(alert)
            }
            engine = fresh
            return true
        } catch {
            logger.warning("cannot restore firing alerts yet", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// One pass: with a lease, claims it first. The holder evaluates every rule, stores the
    /// transitions and notifies; after a takeover it first reloads the firing alerts, so an
    /// alert the last holder notified is not notified again. Another instance only mirrors the
    /// firing alerts, for its API.
    public func evaluate(nowMs: Int64) async {
        if let lease {
            let claim = await lease.claim(.alerts, nowMs: nowMs)
            guard claim.mayRun else {
                restored = false
                // What failed when this daemon last evaluated is not news: the holder knows now.
                failing = [:]
                retired = ([], [])
                if await reload() { mirrors += 1 }
                lastEvaluationMs = nowMs
                return
            }
            if claim == .acquired || !restored {
                restored = await reload()
                // Without the last holder's firing alerts, evaluating could notify them again.
                guard restored else { return }
            }
        } else if !restored {
            // Alone on the database: a failed restore does not stop alerting (as before leases).
            restored = await reload()
        }
        var transitions = retired.transitions
        var notify = retired.notify
        retired = ([], [])
        passEndpointStats = [:]
        defer { passEndpointStats = [:] }
        for rule in rules {
            do {
                let reading = try await self.values(rule, nowMs: nowMs)
                let details =
                    engine.needsDetails(rule, values: reading.values)
                    ? try await self.details(rule, nowMs: nowMs) : [:]
                let result = engine.evaluate(
                    rule, values: reading.values, labels: reading.labels, details: details, nowMs: nowMs)
                transitions += result.transitions
                notify += result.notify
                failing[rule.name] = nil
            } catch {
                if failing[rule.name] == nil {
                    logger.warning(
                        "alert rule cannot be evaluated", metadata: ["rule": "\(rule.name)", "error": "\(error)"])
                }
                failing[rule.name] = "\(error)"
            }
        }
        // A reload may have replaced the rules while this pass awaited: an alert of a rule
        // that is gone now ends here (its rule's evaluation above may have renewed it).
        let ended = engine.retire(keeping: Set(self.rules.map(\.name)), nowMs: nowMs)
        transitions += ended.transitions + retired.transitions
        notify += ended.notify + retired.notify
        retired = ([], [])
        for item in transitions {
            logger.notice(
                "alert \(item.state.rawValue)",
                metadata: ["rule": "\(item.rule)", "host": "\(item.host)", "summary": "\(item.summary)"])
        }
        // The lease again, just before acting: a holder whose lease session broke during the
        // pass (another instance may have taken over since) stores and notifies nothing.
        // Only `.kept` will do: `.acquired` means the lock was lost and taken again meanwhile.
        if let lease, !transitions.isEmpty || !notify.isEmpty, await lease.claim(.alerts, nowMs: nowMs) != .kept {
            logger.warning(
                "alert lease lost during the evaluation; its transitions are left to the new holder",
                metadata: ["transitions": "\(transitions.count)"])
            restored = false
            return
        }
        do {
            try await alerts.record(transitions)
        } catch {
            logger.error(
                "cannot store alert transitions", metadata: ["count": "\(transitions.count)", "error": "\(error)"])
        }
        if let webhook, !notify.isEmpty { await webhook.notify(notify) }
        if let webhook {
            await webhook.evaluated(firing: engine.active.values.filter { $0.state == .firing }, nowMs: nowMs)
        }
        evaluations += 1
        lastEvaluationMs = nowMs
    }

    /// The rule's `{{detail}}` text per host (`AlertRule.Detail`).
    func details(_ rule: AlertRule, nowMs: Int64) async throws -> [String: String] {
        switch rule.detail {
        case nil:
            return [:]
        case .postgresBlockers:
            var byHost: [String: String] = [:]
            for entry in cache.values(named: ["mon_postgres_up"], nowMs: nowMs) {
                byHost[entry.key.host] = "blocker unknown"
            }
            for (host, report) in try await store.currentBlockingReports(host: nil, cache: cache, nowMs: nowMs) {
                let text = BlockingTrees(report).summary(report, statement: StatementText.forViewer)
                byHost[host] = text.isEmpty ? "blocker unknown" : text
            }
            return byHost
        }
    }

    /// One value per host, and the `{{labels}}` text of the series that gave it.
    typealias Reading = (values: [String: Double], labels: [String: String])

    /// Per host, the worst of `entries` for `comparison` (several series of one host), with its labels.
    static func worst(
        _ entries: [(host: String, value: Double, labels: [String: String])], _ comparison: AlertRule.Comparison
    ) -> Reading {
        var reading: Reading = ([:], [:])
        for (host, group) in Dictionary(grouping: entries, by: \.host) {
            guard let value = comparison.worst(group.map(\.value)),
                let entry = group.first(where: { $0.value == value })
            else { continue }
            reading.values[host] = value
            reading.labels[host] = AlertRule.labelsText(entry.labels)
        }
        return reading
    }

    /// Request statistics per host over the last `window` seconds, read once per pass (or
    /// taken from the shared `fleet` reads, which the summary and the anomaly monitor read too).
    private func endpointStatsByHost(window: Int64, range: TimeRange) async throws -> [String: [EndpointStats]] {
        if let known = passEndpointStats[window] { return known }
        let stats: [String: [EndpointStats]]
        if let fleet {
            stats = try await fleet.figures(windowSeconds: window, nowMs: range.endMs).byHost
        } else {
            stats = try await store.endpointStatsByHost(host: nil, range: range)
            endpointScans += 1
        }
        passEndpointStats[window] = stats
        return stats
    }

    /// A counter's increase per series of every host over the last `window` seconds (from the
    /// shared `fleet` reads, which the summary reads too, when there are).
    private func increase(_ name: String, window: Int64, range: TimeRange) async throws -> FleetReads.Increase {
        guard let fleet else { return try await store.increase(name: name, host: nil, range: range) }
        return try await fleet.increase(name: name, windowSeconds: window, nowMs: range.endMs)
    }

    /// The rule's value per host, and the labels of the series that gave it.
    func values(_ rule: AlertRule, nowMs: Int64) async throws -> Reading {
        let window = rule.windowSeconds
        func range() throws -> TimeRange {
            try TimeRange(period: "\(window)s", step: nil, nowMs: nowMs)
        }
        switch rule.signal {
        case .metric(let name, let labels, .last):
            var entries: [(host: String, value: Double, labels: [String: String])] = []
            for entry in cache.values(named: [name], nowMs: nowMs) {
                let pairs = entry.key.labels.pairs
                guard
                    labels.allSatisfy({ wanted in pairs.contains { $0.name == wanted.key && $0.value == wanted.value } }
                    )
                else { continue }
                entries.append(
                    (
                        entry.key.host, entry.value.value * rule.scale,
                        Dictionary(pairs.map { ($0.name, $0.value) }) { first, _ in first }
                    ))
            }
            return Self.worst(entries, rule.comparison)
        case .metric(let name, let labels, let aggregate) where aggregate == .increase || aggregate == .rate:
            var byHost: [String: Double] = [:]
            for entry in try await increase(name, window: window, range: try range())
            where labels.allSatisfy({ entry.labels[$0.key] == $0.value }) {
                byHost[entry.host, default: 0] += entry.value
            }
            return (byHost.mapValues { (aggregate == .rate ? $0 / Double(window) : $0) * rule.scale }, [:])
        case .metric(let name, let labels, let aggregate):
            var entries: [(host: String, value: Double, labels: [String: String])] = []
            for series in try await store.series(names: [name], host: nil, labels: labels, range: try range()) {
                let value: Double?
                switch aggregate {
                case .max: value = series.points.map(\.value).max()
                case .min: value = series.points.map(\.value).min()
                default: value = series.average
                }
                if let value { entries.append((series.host, value * rule.scale, series.labels)) }
            }
            return Self.worst(entries, rule.comparison)
        case .builtin("filesystem_hours_to_full"):
            var entries: [(host: String, value: Double, labels: [String: String])] = []
            for series in try await store.series(
                names: ["mon_host_filesystem_avail_bytes"], host: nil, range: try range())
            {
                guard let hours = FilesystemForecast.reading(series.points) else { continue }
                entries.append((series.host, hours * rule.scale, ["mountpoint": series.labels["mountpoint"] ?? ""]))
            }
            return Self.worst(entries, rule.comparison)
        case .builtin("agent_silence_intervals"):
            var byHost: [String: Double] = [:]
            for agent in await stats.agents.values {
                guard let last = agent.lastBatchMs, let interval = agent.effectiveIntervalMs, interval > 0 else {
                    continue
                }
                // At least 1 s per interval: a sub-second agent is not "silent" after a hiccup.
                let silence = Double(nowMs - last) / max(interval, 1000)
                byHost[agent.host] = max(byHost[agent.host] ?? 0, silence)
            }
            return (byHost, [:])
        case .builtin("ingest_lag_seconds"):
            return (await stats.batchesStored > 0 ? ["monquery": await stats.lastLagSeconds] : [:], [:])
        case .builtin(let name) where AlertRule.anomalyBuiltins[name] != nil:
            guard let anomalies, let signal = AlertRule.anomalyBuiltins[name]?.signal else {
                throw AlertRuleError(origin: rule.origin, message: "\(name) needs anomalies.enabled: true")
            }
            let values = await anomalies.deviations(signal).compactMapValues { rule.comparison.worst($0) }
            return (values.mapValues { $0 * rule.scale }, [:])
        case .builtin(let name):
            var byHost: [String: Double] = [:]
            for (host, endpoints) in try await endpointStatsByHost(window: window, range: try range()) {
                let totals = EndpointStats.totals(endpoints)
                guard totals.requests > 0, totals.requests >= rule.minRequests else { continue }
                byHost[host] = totals.value(of: name, windowSeconds: Double(window))
            }
            return (byHost.mapValues { $0 * rule.scale }, [:])
        }
    }
}

/// Runs the evaluator every `every` until shutdown; trims old transitions hourly.
public struct AlertService: Service {
    let evaluator: AlertEvaluator
    let alerts: AlertStore
    let every: Duration
    let retentionDays: Int
    let logger: Logger

    public init(evaluator: AlertEvaluator, alerts: AlertStore, every: Duration, retentionDays: Int, logger: Logger) {
        self.evaluator = evaluator
        self.alerts = alerts
        self.every = every
        self.retentionDays = retentionDays
        self.logger = logger
    }

    public func run() async throws {
        logger.info("alert rules loaded", metadata: ["rules": "\(evaluator.rules.count)"])
        // First evaluation one interval after start: agents have reported by then. Old alerts
        // are trimmed then too, and every hour after.
        let evaluate = PeriodicService(
            name: "alerts", schedule: .every(every, firstAfter: every), logger: logger
        ) { [evaluator] tick in
            await evaluator.evaluate(nowMs: tick.timestampMs)
            return .next
        }
        let trim = PeriodicService(
            name: "alerts-trim", schedule: .every(.seconds(3600), firstAfter: every), logger: logger
        ) { [alerts, retentionDays, evaluator] _ in
            // The holder of the alerts lease trims (any instance would do; one is enough).
            if let lease = evaluator.lease, !(lease.snapshot[.alerts]?.held ?? false) { return .next }
            try await alerts.trim(days: retentionDays)
            return .next
        }
        await withDiscardingTaskGroup { group in
            group.addTask { try? await evaluate.run() }
            group.addTask { try? await trim.run() }
        }
    }
}
