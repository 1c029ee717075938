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
    /// Series identities whose resolution is kept (`StatsDSeriesCache`).
    public static let seriesCacheEntries = 4096
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
        /// What each series identity seen recently resolves to (see `StatsDSeriesCache`).
        var series: StatsDSeriesCache<Route>
    }

    let config: StatsDConfig
    let cacheNames: CacheCounterNames
    private let state: Mutex<State>

    /// `defaultService` is the service of a StatsD request timer without a `service` tag
    /// (the agent passes `logs.service`, the default of log lines without a service field);
    /// `cacheTypes` map cache counters' key prefixes to type names (`redis.cache_types`).
    public init(
        config: StatsDConfig, requests: RequestsConfig = RequestsConfig(), defaultService: String = "mnemolite",
        cacheTypes: [RedisSourceConfig.CacheType] = RedisSourceConfig.defaultCacheTypes,
        seriesCacheEntries: Int = AppAggregator.seriesCacheEntries
    ) {
        self.config = config
        cacheNames = CacheCounterNames(cacheTypes: cacheTypes)
        state = Mutex(
            State(
                selector: RequestSourceSelector(config: requests, defaultService: defaultService),
                series: StatsDSeriesCache(maxEntries: seriesCacheEntries)))
    }

    // MARK: Input

    /// Parses and applies one datagram (several lines allowed); bad lines are counted, never fatal.
    public func ingest(datagram: UnsafeRawBufferPointer) {
        ingest(datagrams: CollectionOfOne(datagram))
    }

    /// Parses and applies datagrams under one lock acquisition (the receiver passes what one
    /// `recvmmsg` returned). Lines are checked in place (`StatsDParser.scan`); a line whose
    /// type, name and tags were seen before reuses what they resolved to, so no String is
    /// built for it.
    public func ingest<Datagrams: Sequence<UnsafeRawBufferPointer>>(datagrams: Datagrams) {
        let nowMs = WallClock.nowMs()
        // Read only inside the lock, while the caller waits: nothing of it is kept in the state
        // (the series cache copies the bytes it keeps).
        let batch = Borrowed(datagrams)
        state.withLock { state in
            var counts = (datagrams: 0.0, lines: 0.0, malformed: 0.0, ignored: 0.0)
            for datagram in batch.value {
                counts.datagrams += 1
                StatsDParser.forEachLine(datagram) { line in
                    counts.lines += 1
                    do {
                        if let raw = try StatsDParser.scan(line) {
                            apply(raw, nowMs: nowMs, to: &state)
                        } else {
                            counts.ignored += 1
                        }
                    } catch {
                        counts.malformed += 1
                    }
                }
            }
            state.own["mon_agent_statsd_datagrams_total", default: 0] += counts.datagrams
            state.own["mon_agent_statsd_lines_total", default: 0] += counts.lines
            state.own["mon_agent_statsd_malformed_total", default: 0] += counts.malformed
            state.own["mon_agent_statsd_ignored_total", default: 0] += counts.ignored
        }
    }

    /// The caller's datagrams, read under the lock while the caller waits.
    private struct Borrowed<Value>: @unchecked Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    /// Records one HTTP request (from a log event or a StatsD timer), unless the selector
    /// (`requests.source`) says another input counts this service's requests.
    public func recordRequest(
        endpoint: String, method: String, status: String, seconds: Double, times: UInt64 = 1,
        source: RequestSource = .logs, service: String? = nil, nowMs: Int64 = WallClock.nowMs()
    ) {
        state.withLock { state in
            let request = Request(endpoint: endpoint, method: method, status: status, source: source, service: service)
            guard admitRequest(request, seconds: seconds, times: times, nowMs: nowMs, &state),
                let key = admit(MetricNames.requestDuration, Self.requestLabels(request), &state)
            else { return }
            record(seconds, times: times, in: key, &state)
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

    /// What the type, name and tags of a line resolve to; kept per identity in `State.series`.
    /// `admission` is filled the first time the line would look up its series, and kept: once
    /// decided, whether a series is admitted, folded or dropped never changes (tag sets, metric
    /// names and cache types are only ever added, up to their caps). Its counts are added
    /// again on every use, as if it were decided again.
    struct Route {
        enum Target {
            /// A timer, histogram or distribution: a histogram of values × `scale`.
            case histogram(name: String, labels: Labels, scale: Double)
            /// A request timer (`statsd.request_metrics` with an endpoint tag).
            case request(Request, labels: Labels, scale: Double)
            case counter(name: String, labels: Labels, cache: CacheCounterNames.Match?)
            case gauge(name: String, labels: Labels)
            case set(name: String, labels: Labels)
        }
        var target: Target
        var admission: Admission?
    }

    /// Where a series' lines go: its key (nil: dropped), and what deciding it counted.
    struct Admission {
        var key: Key?
        var folded = 0.0
        var dropped = 0.0
    }

    private func apply(_ raw: StatsDRawLine, nowMs: Int64, to state: inout State) {
        let slot = state.series.find(raw) ?? state.series.insert(raw, route(raw))
        let times = Self.times(sampleRate: raw.sampleRate)
        switch state.series.payloads[slot].target {
        case .histogram(_, _, let scale), .request(_, _, let scale):
            // Timings out of range are refused one by one (`maxDurationSeconds`).
            let timer = raw.kind == .timer
            var refused = 0
            if timer {
                raw.forEachValue { value in if !Self.plausible(value, scale) { refused += 1 } }
                if refused > 0 {
                    state.own["mon_agent_statsd_malformed_total", default: 0] += Double(refused)
                    if refused == raw.valueCount { return }
                }
            }
            if case .request(let request, _, _) = state.series.payloads[slot].target {
                raw.forEachValue { value in
                    guard !timer || Self.plausible(value, scale),
                        admitRequest(request, seconds: value * scale, times: times, nowMs: nowMs, &state),
                        let key = seriesKey(slot, &state)
                    else { return }
                    record(value * scale, times: times, in: key, &state)
                }
                return
            }
            guard let key = seriesKey(slot, &state) else { return }
            // Recorded in place: a copy of the histogram out of the dictionary and back would copy
            // its bucket table on every line.
            var failed = 0.0
            raw.forEachValue { value in
                guard !timer || Self.plausible(value, scale) else { return }
                if !state.histograms[key, default: Histogram()].record(value * scale, times: times) { failed += 1 }
            }
            if failed > 0 {
                state.own["mon_agent_statsd_malformed_total", default: 0] += failed
                Self.dropIfEmpty(key, &state)
            }
        case .counter:
            guard let key = seriesKey(slot, &state) else { return }
            var sum = 0.0
            raw.forEachValue { sum += $0 }
            let increment = sum / raw.sampleRate
            // A cumulative counter never goes down: negative increments are refused; so is one
            // that would take it to infinity (1e308 twice), which would stay there for good.
            let index = state.counters.index(forKey: key)
            let total = (index.map { state.counters.values[$0] } ?? 0) + increment
            guard increment >= 0, total.isFinite else {
                state.own["mon_agent_statsd_malformed_total", default: 0] += 1
                return
            }
            if let index {
                state.counters.values[index] = total
            } else {
                state.newCounters.insert(key)
                state.counters[key] = total
            }
        case .gauge:
            guard let key = seriesKey(slot, &state) else { return }
            var sum = 0.0
            var last = 0.0
            raw.forEachValue {
                sum += $0
                last = $0
            }
            let value = raw.gaugeDelta ? (state.gauges[key] ?? 0) + sum : last
            // Adjustments that overflow (+1e308 twice) are refused: the gauge keeps its value.
            guard value.isFinite else {
                state.own["mon_agent_statsd_malformed_total", default: 0] += 1
                return
            }
            state.gauges[key] = value
        case .set:
            guard let key = seriesKey(slot, &state) else { return }
            let member = StatsDParser.text(raw.value)
            if state.sets[key, default: []].count < Self.maxSetMembers { state.sets[key, default: []].insert(member) }
        }
    }

    /// Everything a line's type, name and tags decide, before any state is looked at.
    private func route(_ raw: StatsDRawLine) -> Route {
        let name = StatsDParser.text(raw.name)
        let tags = StatsDParser.tagList(raw.tags)
        switch raw.kind {
        case .timer, .histogram, .distribution:
            let scale = raw.kind == .timer ? 0.001 : 1
            if config.requestMetrics.contains(name),
                let endpoint = Self.tag(tags, ["endpoint", "path", "route", "url"])
            {
                let request = Request(
                    endpoint: endpoint, method: Self.tag(tags, ["method", "http_method"]) ?? "",
                    status: Self.tag(tags, ["status", "status_code", "http_status"]) ?? "", source: .statsd,
                    service: Self.tag(tags, ["service"]).map(Self.cut))
                return Route(target: .request(request, labels: Self.requestLabels(request), scale: scale))
            }
            let suffix = raw.kind == .timer ? "_seconds" : ""
            return Route(target: .histogram(name: metricName(name, suffix: suffix), labels: labels(tags), scale: scale))
        case .counter:
            return Route(
                target: .counter(
                    name: metricName(name, suffix: name.hasSuffix("_total") ? "" : "_total"), labels: labels(tags),
                    cache: CacheCounterNames.match(name, tags: tags)))
        case .gauge:
            return Route(target: .gauge(name: metricName(name, suffix: ""), labels: labels(tags)))
        case .set:
            return Route(target: .set(name: metricName(name, suffix: "_unique"), labels: labels(tags)))
        }
    }

    /// The key of a routed series: decided on first use (as `admit` does), then replayed.
    private func seriesKey(_ slot: Int, _ state: inout State) -> Key? {
        let decided: Admission
        if let known = state.series.payloads[slot].admission {
            decided = known
        } else {
            switch state.series.payloads[slot].target {
            case .histogram(let name, let labels, _), .gauge(let name, let labels), .set(let name, let labels):
                decided = admission(name, labels, &state)
            case .request(_, let labels, _):
                decided = admission(MetricNames.requestDuration, labels, &state)
            case .counter(let name, let labels, let cache):
                // A cache counter whose cache series is dropped falls back to its own name.
                var first = cache.flatMap { cacheAdmission($0, &state) } ?? Admission()
                if first.key == nil {
                    let plain = admission(name, labels, &state)
                    first = Admission(
                        key: plain.key, folded: first.folded + plain.folded, dropped: first.dropped + plain.dropped)
                }
                decided = first
            }
            state.series.payloads[slot].admission = decided
        }
        if decided.folded > 0 { state.own["mon_agent_statsd_folded_total", default: 0] += decided.folded }
        if decided.dropped > 0 { state.own["mon_agent_statsd_dropped_total", default: 0] += decided.dropped }
        return decided.key
    }

    /// The series of a cache hit/miss counter in any form `CacheCounterNames` knows:
    /// `<prefix>cache_hit_total{cache="<type>"}`; nil for a match without a type. Distinct
    /// types beyond `CacheCounterNames.maxTypes` fold into `other` (counted as folded).
    private func cacheAdmission(_ match: CacheCounterNames.Match, _ state: inout State) -> Admission? {
        guard let raw = match.rawType else { return nil }
        var type = cacheNames.resolve(raw)
        var folded = 0.0
        if !state.cacheTypes.contains(type) {
            if state.cacheTypes.count < CacheCounterNames.maxTypes {
                state.cacheTypes.insert(type)
            } else {
                folded = 1
                type = "other"
            }
        }
        var decided = admission(
            CacheCounterNames.metricName(match.outcome, prefix: config.prefix), ["cache": type], &state)
        decided.folded += folded
        return decided
    }

    /// A timing value that is not negative and, scaled to seconds, within `maxDurationSeconds`.
    private static func plausible(_ value: Double, _ scale: Double) -> Bool {
        value >= 0 && value * scale <= maxDurationSeconds
    }

    /// How many observations one sampled line stands for: 1 / rate rounded, 1 … 1 000 000
    /// (the parser keeps rates in `[StatsDParser.minSampleRate, 1]`; anything else counts once).
    static func times(sampleRate rate: Double) -> UInt64 {
        let scaled = (1 / rate).rounded()
        guard scaled.isFinite, scaled >= 1 else { return 1 }
        return UInt64(Swift.min(scaled, (1 / StatsDParser.minSampleRate).rounded()))
    }

    /// Whether one request observation counts: a duration outside `[0, maxDurationSeconds]`
    /// is refused (counted as malformed), and the selector (`requests.source`) may count it as
    /// a duplicate of the other input.
    private func admitRequest(
        _ request: Request, seconds: Double, times: UInt64, nowMs: Int64, _ state: inout State
    ) -> Bool {
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maxDurationSeconds else {
            state.own["mon_agent_statsd_malformed_total", default: 0] += 1
            return false
        }
        let refusedBefore = state.selector.servicesRefused
        let counts = state.selector.admit(request.source, service: request.service, nowMs: nowMs)
        if state.selector.servicesRefused > refusedBefore {
            state.own[Self.servicesOverflowMetric, default: 0] += 1
        }
        guard counts else {
            let key = Key(name: Self.deduplicatedMetric, labels: ["source": request.source.rawValue])
            state.ownLabeled[key, default: 0] += Double(times)
            return false
        }
        return true
    }

    static func requestLabels(_ request: Request) -> Labels {
        [
            "endpoint": EndpointNormalizer.normalize(request.endpoint),
            "method": method(request.method),
            "status": status(request.status),
            "source": request.source.rawValue,
        ]
    }

    /// One request duration into its histogram; a refused one is counted as malformed.
    private func record(_ seconds: Double, times: UInt64, in key: Key, _ state: inout State) {
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
    /// when the metric name is beyond `max_metrics`; what it folded or dropped is counted.
    private func admit(_ name: String, _ labels: Labels, _ state: inout State) -> Key? {
        let decided = admission(name, labels, &state)
        if decided.folded > 0 { state.own["mon_agent_statsd_folded_total", default: 0] += decided.folded }
        if decided.dropped > 0 { state.own["mon_agent_statsd_dropped_total", default: 0] += decided.dropped }
        return decided.key
    }

    /// `admit` without the counting: records a new metric name or tag set where there is room.
    private func admission(_ name: String, _ labels: Labels, _ state: inout State) -> Admission {
        if state.tagSets[name] == nil, state.tagSets.count >= config.maxMetrics {
            return Admission(key: nil, dropped: 1)
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
        guard admitted else { return Admission(key: Key(name: name, labels: Self.overflowLabels), folded: 1) }
        return Admission(key: Key(name: name, labels: labels))
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

    private static func tag(_ tags: [(name: String, value: String)], _ names: [String]) -> String? {
        for name in names {
            if let tag = tags.first(where: { $0.name == name }) { return tag.value }
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
