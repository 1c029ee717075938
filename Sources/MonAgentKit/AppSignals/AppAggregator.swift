import MonCore
import Synchronization

/// Aggregates the application's signals between two flushes: StatsD lines from the UDP
/// receiver (an event-loop thread) and request observations from the log tailer (a task).
///
/// Counters and gauges become samples (counters cumulative, as every other counter the
/// agent ships); timers, histograms and distributions become one mergeable `Histogram`
/// per (metric, tag set) and window. Cardinality is bounded twice: distinct metric names
/// (`statsd.max_metrics`, further lines dropped) and tag sets per metric
/// (`statsd.max_tag_sets`, further sets folded into `overflow="true"`); both counted.
public final class AppAggregator: Sendable {
    static let overflowLabels: Labels = ["overflow": "true"]
    static let maxLabelValueBytes = 200
    static let maxSetMembers = 100_000
    /// The longest plausible duration, one day: a StatsD timing (`|ms`) beyond it, a negative
    /// one, and a request duration (any input) beyond it are refused and counted in
    /// `mon_agent_statsd_malformed_total` (`x:1e308|ms` drove the API's mean latency to 1e298).
    public static let maxDurationSeconds: Double = 86_400

    struct Key: Hashable {
        var name: String
        var labels: Labels
    }

    struct State {
        var counters: [Key: Double] = [:]
        /// Counters created since the last flush: shipped with a 0 just before their first
        /// value, so the increase over any range includes their first increments.
        var newCounters: Set<Key> = []
        var gauges: [Key: Double] = [:]
        var sets: [Key: Set<String>] = [:]
        var histograms: [Key: Histogram] = [:]
        var tagSets: [String: Set<Labels>] = [:]
        /// The agent's own counters (`mon_agent_statsd_*`, `mon_agent_logs_*`), cumulative.
        var own: [String: Double] = [:]
        /// The agent's own counters that carry labels (`mon_agent_log_files_refused_total{reason}`).
        var ownLabeled: [Key: Double] = [:]
        /// Which input counts a request (`requests.source`).
        var selector: RequestSourceSelector
        /// Cache types seen in hit/miss counters (at most `CacheCounterNames.maxTypes`).
        var cacheTypes: Set<String> = []
    }

    let config: StatsDConfig
    let cacheNames: CacheCounterNames
    private let state: Mutex<State>

    /// `defaultService` is the service of a StatsD request timer without a `service` tag
    /// (the agent passes `logs.service`, the default of log lines without a service field);
    /// `cacheTypes` map cache counters' key prefixes to type names (`redis.cache_types`).
    public init(
        config: StatsDConfig, requests: RequestsConfig = RequestsConfig(), defaultService: String = "mnemolite",
        cacheTypes: [RedisSourceConfig.CacheType] = RedisSourceConfig.defaultCacheTypes
    ) {
        self.config = config
        cacheNames = CacheCounterNames(cacheTypes: cacheTypes)
        state = Mutex(State(selector: RequestSourceSelector(config: requests, defaultService: defaultService)))
    }

    // MARK: Input

    /// Parses and applies one datagram (several lines allowed); bad lines are counted, never fatal.
    public func ingest(datagram: UnsafeRawBufferPointer) {
        var parsed: [StatsDLine] = []
        var malformed = 0.0
        var ignored = 0.0
        let lines = StatsDParser.lines(datagram)
        for line in lines {
            do {
                if let statsd = try StatsDParser.parse(line) { parsed.append(statsd) } else { ignored += 1 }
            } catch {
                malformed += 1
            }
        }
        state.withLock { state in
            state.own["mon_agent_statsd_datagrams_total", default: 0] += 1
            state.own["mon_agent_statsd_lines_total", default: 0] += Double(lines.count)
            state.own["mon_agent_statsd_malformed_total", default: 0] += malformed
            state.own["mon_agent_statsd_ignored_total", default: 0] += ignored
            for line in parsed { apply(line, to: &state) }
        }
    }

    /// Records one HTTP request (from a log event or a StatsD timer), unless the selector
    /// (`requests.source`) says another input counts this service's requests.
    public func recordRequest(
        endpoint: String, method: String, status: String, seconds: Double, times: UInt64 = 1,
        source: RequestSource = .logs, service: String? = nil, nowMs: Int64 = WallClock.nowMs()
    ) {
        state.withLock { state in
            let request = Request(endpoint: endpoint, method: method, status: status, source: source, service: service)
            recordRequest(request, seconds: seconds, times: times, nowMs: nowMs, &state)
        }
    }

    /// One request observation before the selector and the histogram.
    struct Request {
        var endpoint: String
        var method: String
        var status: String
        var source: RequestSource
        var service: String?
    }

    /// The agent's counter of request observations dropped as duplicates, by dropped source.
    public static let deduplicatedMetric = "mon_agent_requests_deduplicated_total"
    /// Request timers whose service the selector could not remember (more than its cap).
    public static let servicesOverflowMetric = "mon_agent_requests_services_overflow_total"

    /// Adds to one of the agent's own cumulative counters.
    public func count(_ name: String, by amount: Double = 1) {
        guard amount != 0 else { return }
        state.withLock { $0.own[name, default: 0] += amount }
    }

    /// Adds to one of the agent's own counters with labels (shipped cumulative, like `count`).
    public func count(_ name: String, labels: Labels, by amount: Double = 1) {
        guard amount != 0 else { return }
        state.withLock { $0.ownLabeled[Key(name: name, labels: labels), default: 0] += amount }
    }

    // MARK: Flush

    /// Takes the window's histograms and sets, and the current counters and gauges.
    public func flush(timestampMs: Int64) -> (samples: [Sample], histograms: [HistogramSample]) {
        state.withLock { state in
            var samples: [Sample] = []
            samples.reserveCapacity(state.counters.count + state.gauges.count + state.sets.count + state.own.count)
            for (key, value) in state.counters {
                if state.newCounters.contains(key) {
                    samples.append(Sample(key.name, key.labels, value: 0, kind: .counter, timestampMs: timestampMs - 1))
                }
                samples.append(Sample(key.name, key.labels, value: value, kind: .counter, timestampMs: timestampMs))
            }
            state.newCounters.removeAll(keepingCapacity: true)
            for (key, value) in state.gauges {
                samples.append(Sample(key.name, key.labels, value: value, timestampMs: timestampMs))
            }
            for (key, members) in state.sets {
                samples.append(Sample(key.name, key.labels, value: Double(members.count), timestampMs: timestampMs))
            }
            for (name, value) in state.own {
                samples.append(Sample(name, value: value, kind: .counter, timestampMs: timestampMs))
            }
            for (key, value) in state.ownLabeled {
                samples.append(Sample(key.name, key.labels, value: value, kind: .counter, timestampMs: timestampMs))
            }
            let histograms = state.histograms.map { key, histogram in
                HistogramSample(key.name, key.labels, timestampMs: timestampMs, histogram: histogram)
            }
            state.sets.removeAll(keepingCapacity: true)
            state.histograms.removeAll(keepingCapacity: true)
            return (samples, histograms)
        }
    }

    // MARK: Internals (under the lock)

    private func apply(_ line: StatsDLine, to state: inout State) {
        let times = Self.times(sampleRate: line.sampleRate)
        switch line.kind {
        case .timer, .histogram, .distribution:
            let scale = line.kind == .timer ? 0.001 : 1
            var values = line.values
            if line.kind == .timer {
                values.removeAll { !($0 >= 0 && $0 * scale <= Self.maxDurationSeconds) }
                if values.count < line.values.count {
                    state.own["mon_agent_statsd_malformed_total", default: 0] += Double(
                        line.values.count - values.count)
                    if values.isEmpty { return }
                }
            }
            if config.requestMetrics.contains(line.name),
                let endpoint = tag(line, ["endpoint", "path", "route", "url"])
            {
                let request = Request(
                    endpoint: endpoint, method: tag(line, ["method", "http_method"]) ?? "",
                    status: tag(line, ["status", "status_code", "http_status"]) ?? "", source: .statsd,
                    service: tag(line, ["service"]).map(Self.cut))
                let nowMs = WallClock.nowMs()
                for value in values {
                    recordRequest(request, seconds: value * scale, times: times, nowMs: nowMs, &state)
                }
                return
            }
            let suffix = line.kind == .timer ? "_seconds" : ""
            guard let key = admit(metricName(line.name, suffix: suffix), labels(line.tags), &state) else { return }
            // Recorded in place: a copy of the histogram out of the dictionary and back would copy
            // its bucket table on every line.
            var refused = 0.0
            for value in values
            where !state.histograms[key, default: Histogram()].record(value * scale, times: times) {
                refused += 1
            }
            if refused > 0 {
                state.own["mon_agent_statsd_malformed_total", default: 0] += refused
                Self.dropIfEmpty(key, &state)
            }
        case .counter:
            let name = metricName(line.name, suffix: line.name.hasSuffix("_total") ? "" : "_total")
            guard let key = cacheKey(line, &state) ?? admit(name, labels(line.tags), &state) else { return }
            let increment = line.values.reduce(0, +) / line.sampleRate
            // A cumulative counter never goes down: negative increments are refused; so is one
            // that would take it to infinity (1e308 twice), which would stay there for good.
            let total = (state.counters[key] ?? 0) + increment
            guard increment >= 0, total.isFinite else {
                state.own["mon_agent_statsd_malformed_total", default: 0] += 1
                return
            }
            if state.counters[key] == nil { state.newCounters.insert(key) }
            state.counters[key] = total
        case .gauge:
            guard let key = admit(metricName(line.name, suffix: ""), labels(line.tags), &state),
                let last = line.values.last
            else { return }
            let value = line.gaugeDelta ? (state.gauges[key] ?? 0) + line.values.reduce(0, +) : last
            // Adjustments that overflow (+1e308 twice) are refused: the gauge keeps its value.
            guard value.isFinite else {
                state.own["mon_agent_statsd_malformed_total", default: 0] += 1
                return
            }
            state.gauges[key] = value
        case .set:
            guard let key = admit(metricName(line.name, suffix: "_unique"), labels(line.tags), &state),
                let member = line.setMember
            else { return }
            if state.sets[key, default: []].count < Self.maxSetMembers { state.sets[key, default: []].insert(member) }
        }
    }

    /// The key of a cache hit/miss counter in any form `CacheCounterNames` knows:
    /// `<prefix>cache_hit_total{cache="<type>"}`; nil for other counters. Distinct types
    /// beyond `CacheCounterNames.maxTypes` fold into `other` (counted as folded).
    private func cacheKey(_ line: StatsDLine, _ state: inout State) -> Key? {
        guard let match = CacheCounterNames.match(line.name, tags: line.tags), let raw = match.rawType else {
            return nil
        }
        var type = cacheNames.resolve(raw)
        if !state.cacheTypes.contains(type) {
            if state.cacheTypes.count < CacheCounterNames.maxTypes {
                state.cacheTypes.insert(type)
            } else {
                state.own["mon_agent_statsd_folded_total", default: 0] += 1
                type = "other"
            }
        }
        return admit(CacheCounterNames.metricName(match.outcome, prefix: config.prefix), ["cache": type], &state)
    }

    /// How many observations one sampled line stands for: 1 / rate rounded, 1 … 1 000 000
    /// (the parser keeps rates in `[StatsDParser.minSampleRate, 1]`; anything else counts once).
    static func times(sampleRate rate: Double) -> UInt64 {
        let scaled = (1 / rate).rounded()
        guard scaled.isFinite, scaled >= 1 else { return 1 }
        return UInt64(Swift.min(scaled, (1 / StatsDParser.minSampleRate).rounded()))
    }

    private func recordRequest(
        _ request: Request, seconds: Double, times: UInt64, nowMs: Int64, _ state: inout State
    ) {
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maxDurationSeconds else {
            state.own["mon_agent_statsd_malformed_total", default: 0] += 1
            return
        }
        let refusedBefore = state.selector.servicesRefused
        let counts = state.selector.admit(request.source, service: request.service, nowMs: nowMs)
        if state.selector.servicesRefused > refusedBefore {
            state.own[Self.servicesOverflowMetric, default: 0] += 1
        }
        guard counts else {
            let key = Key(name: Self.deduplicatedMetric, labels: ["source": request.source.rawValue])
            state.ownLabeled[key, default: 0] += Double(times)
            return
        }
        let labels: Labels = [
            "endpoint": EndpointNormalizer.normalize(request.endpoint),
            "method": Self.method(request.method),
            "status": Self.status(request.status),
            "source": request.source.rawValue,
        ]
        guard let key = admit(MetricNames.requestDuration, labels, &state) else { return }
        if !state.histograms[key, default: Histogram()].record(seconds, times: times) {
            state.own["mon_agent_statsd_malformed_total", default: 0] += 1
            Self.dropIfEmpty(key, &state)
        }
    }

    /// A refused observation must not leave an empty histogram behind (the subscript with a
    /// default inserted it): it would ship a window of zero observations, and a series for it.
    private static func dropIfEmpty(_ key: Key, _ state: inout State) {
        if state.histograms[key]?.isEmpty == true { state.histograms[key] = nil }
    }

    /// The key to record under: the series itself, its metric's overflow series, or nil
    /// when the metric name is beyond `max_metrics`.
    private func admit(_ name: String, _ labels: Labels, _ state: inout State) -> Key? {
        if state.tagSets[name] == nil, state.tagSets.count >= config.maxMetrics {
            state.own["mon_agent_statsd_dropped_total", default: 0] += 1
            return nil
        }
        // One lookup of the metric's tag sets, changed in place.
        let maxTagSets = config.maxTagSets
        let admitted: Bool = {
            (known: inout Set<Labels>) -> Bool in
            if known.contains(labels) { return true }
            guard known.count < maxTagSets else { return false }
            known.insert(labels)
            return true
        }(&state.tagSets[name, default: []])
        guard admitted else {
            state.own["mon_agent_statsd_folded_total", default: 0] += 1
            return Key(name: name, labels: Self.overflowLabels)
        }
        return Key(name: name, labels: labels)
    }

    private func metricName(_ raw: String, suffix: String) -> String {
        config.prefix + MetricNames.sanitize(raw) + suffix
    }

    /// Tags as labels: names sanitized, values cut to 200 bytes; `host` renamed (the agent sets it).
    private func labels(_ tags: [(name: String, value: String)]) -> Labels {
        var labels = Labels()
        for tag in tags {
            var name = MetricNames.sanitize(tag.name)
            if name.isEmpty { continue }
            if name == "host" || name == "overflow" { name = "exported_" + name }
            labels.set(name, Self.cut(tag.value))
        }
        return labels
    }

    private func tag(_ line: StatsDLine, _ names: [String]) -> String? {
        for name in names {
            if let tag = line.tags.first(where: { $0.name == name }) { return tag.value }
        }
        return nil
    }

    static func cut(_ value: String) -> String { value.prefix(utf8Bytes: maxLabelValueBytes) }

    /// `get` → `GET`; anything that is not a short token → `OTHER`.
    static func method(_ raw: String) -> String {
        let upper = raw.uppercased()
        guard !upper.isEmpty else { return "" }
        guard upper.utf8.count <= 10, upper.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return "OTHER" }
        return upper
    }

    /// A three-digit status code, else `unknown` (`"200"`, `200`, `200.0` all give `200`).
    static func status(_ raw: String) -> String {
        let trimmed = raw.hasSuffix(".0") ? String(raw.dropLast(2)) : raw
        guard let code = Int(trimmed), (100...599).contains(code) else { return "unknown" }
        return String(code)
    }
}
