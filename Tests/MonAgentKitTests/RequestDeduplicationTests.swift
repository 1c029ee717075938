import Testing

@testable import MonAgentKit
@testable import MonCore

/// One request reported both as a StatsD timer and as an access-log event is counted once
/// (`requests.source`), and what was dropped is counted.
@Suite struct RequestDeduplicationTests {
    typealias Flushed = (samples: [Sample], histograms: [HistogramSample])

    static func aggregator(_ mode: RequestsConfig.Mode, expiry: Double = 60) -> AppAggregator {
        AppAggregator(
            config: StatsDConfig(), requests: RequestsConfig(mode: mode, statsdExpirySeconds: expiry),
            defaultService: "mnemolite")
    }

    static func timer(_ aggregator: AppAggregator, _ text: String) {
        Array(text.utf8).withUnsafeBytes { aggregator.ingest(datagram: $0) }
    }

    /// Requests counted per source label, all series of the request metric merged.
    static func counted(_ flushed: Flushed) -> [String: UInt64] {
        var counts: [String: UInt64] = [:]
        for sample in flushed.histograms where sample.name == MetricNames.requestDuration {
            counts[sample.labels["source"] ?? "", default: 0] += sample.histogram.count
        }
        return counts
    }

    static func deduplicated(_ flushed: Flushed, _ source: String) -> Double? {
        flushed.samples.first {
            $0.name == AppAggregator.deduplicatedMetric && $0.labels == Labels(["source": source])
        }?.value
    }

    static let line = "api.request.duration:12|ms|#endpoint:/v1/search,method:GET,status:200"

    @Test func autoCountsAServiceFromStatsDOnceItSendsTimers() throws {
        let aggregator = Self.aggregator(.auto)
        let now = WallClock.nowMs()
        // Before any timer: the log event counts.
        aggregator.recordRequest(endpoint: "/v1/search", method: "GET", status: "200", seconds: 0.012, nowMs: now)
        for _ in 0..<3 {
            Self.timer(aggregator, Self.line)
            aggregator.recordRequest(
                endpoint: "/v1/search", method: "GET", status: "200", seconds: 0.012, service: "mnemolite",
                nowMs: WallClock.nowMs())
        }
        let flushed = aggregator.flush(timestampMs: now)
        #expect(Self.counted(flushed) == ["logs": 1, "statsd": 3])
        #expect(Self.deduplicated(flushed, "logs") == 3)
        #expect(Self.deduplicated(flushed, "statsd") == nil)
        let labels = try #require(flushed.histograms.first { $0.labels["source"] == "statsd" }?.labels)
        #expect(labels == ["endpoint": "/v1/search", "method": "GET", "status": "200", "source": "statsd"])
    }

    @Test func autoReturnsToLogsAfterTheExpiryWindow() {
        var selector = RequestSourceSelector(
            config: RequestsConfig(mode: .auto, statsdExpirySeconds: 60), defaultService: "web")
        let decisions = [
            selector.admit(.statsd, service: nil, nowMs: 1_000),
            selector.admit(.logs, service: "web", nowMs: 1_000),
            selector.admit(.logs, service: nil, nowMs: 61_000),
            selector.admit(.logs, service: "web", nowMs: 61_001),
            // Another service never sent timers: its log events count.
            selector.admit(.logs, service: "worker", nowMs: 1_000),
        ]
        #expect(decisions == [true, false, false, true, true])
    }

    @Test("forced modes count one input", arguments: [RequestsConfig.Mode.statsd, .logs])
    func forcedModes(mode: RequestsConfig.Mode) {
        let aggregator = Self.aggregator(mode)
        Self.timer(aggregator, Self.line + "\n" + Self.line)
        aggregator.recordRequest(endpoint: "/v1/search", method: "GET", status: "200", seconds: 0.012)
        let flushed = aggregator.flush(timestampMs: 0)
        if mode == .statsd {
            #expect(Self.counted(flushed) == ["statsd": 2])
            #expect(Self.deduplicated(flushed, "logs") == 1)
        } else {
            #expect(Self.counted(flushed) == ["logs": 1])
            #expect(Self.deduplicated(flushed, "statsd") == 2)
        }
    }

    @Test func sampledTimersCountTheirWeightWhenDropped() {
        let aggregator = Self.aggregator(.logs)
        Self.timer(aggregator, Self.line + "|@0.25")
        #expect(Self.deduplicated(aggregator.flush(timestampMs: 0), "statsd") == 4)
    }

    @Test func serviceTagSeparatesServices() {
        let aggregator = Self.aggregator(.auto)
        Self.timer(aggregator, Self.line + ",service:search-api")
        aggregator.recordRequest(
            endpoint: "/v1/search", method: "GET", status: "200", seconds: 0.01, service: "search-api")
        aggregator.recordRequest(endpoint: "/v1/search", method: "GET", status: "200", seconds: 0.01, service: nil)
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.counted(flushed) == ["statsd": 1, "logs": 1])
        #expect(Self.deduplicated(flushed, "logs") == 1)
    }

    @Test func endlessServicesAreCappedAndCounted() {
        var selector = RequestSourceSelector(config: RequestsConfig(), defaultService: "web")
        for index in 0..<(RequestSourceSelector.maxServices + 5) {
            _ = selector.admit(.statsd, service: "s\(index)", nowMs: 1_000)
        }
        #expect(selector.servicesRefused == 5)
        // Once the remembered ones expire, new services are remembered again.
        let timer = selector.admit(.statsd, service: "late", nowMs: 100_000)
        let log = selector.admit(.logs, service: "late", nowMs: 100_000)
        #expect(timer && !log)
        #expect(selector.servicesRefused == 5)
    }

    @Test func configKeysParseAndRefuseNonsense() throws {
        let parsed = try AgentConfig.load(
            path: nil,
            environment: ["MONAGENT_REQUESTS_SOURCE": "logs", "MONAGENT_REQUESTS_STATSD_EXPIRY_SECONDS": "5"])
        #expect(parsed.requests == RequestsConfig(mode: .logs, statsdExpirySeconds: 5))
        #expect(try AgentConfig.load(path: nil, environment: [:]).requests == RequestsConfig())
        #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: nil, environment: ["MONAGENT_REQUESTS_SOURCE": "both"])
        }
        #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: nil, environment: ["MONAGENT_REQUESTS_STATSD_EXPIRY_SECONDS": "nan"])
        }
    }

    @Test func hostileTimersNeitherCountNorRegisterAService() {
        let aggregator = Self.aggregator(.auto)
        let huge = String(repeating: "s", count: 300)
        Self.timer(
            aggregator,
            "api.request.duration:nan|ms|#endpoint:/a,service:x\napi.request.duration:inf|ms|#endpoint:/a,service:x\n"
                + "api.request.duration:-1|ms|#endpoint:/a,service:x\napi.request.duration:3|ms|#endpoint:/a,service:"
                + huge)
        aggregator.recordRequest(endpoint: "/a", method: "GET", status: "200", seconds: .nan, service: "x")
        aggregator.recordRequest(endpoint: "/a", method: "GET", status: "200", seconds: 0.003, service: "x")
        let flushed = aggregator.flush(timestampMs: 0)
        // Bad numbers and an oversized tag never reached the selector: service x still counts
        // from its logs, and the timer with the 300-byte service tag was refused whole.
        #expect(Self.counted(flushed) == ["logs": 1])
        #expect(Self.deduplicated(flushed, "logs") == nil)
        let malformed = flushed.samples.first { $0.name == "mon_agent_statsd_malformed_total" }?.value ?? 0
        #expect(malformed >= 5)
    }
}
