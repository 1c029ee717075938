import Testing

@testable import MonAgentKit
@testable import MonCore

/// Numbers in StatsD lines that once could crash the agent or poison what it ships (issue 18):
/// sample rates, huge values, sums that overflow.
@Suite struct StatsDNumbersTests {
    static func ingest(_ aggregator: AppAggregator, _ text: String) {
        Array(text.utf8).withUnsafeBytes { aggregator.ingest(datagram: $0) }
    }

    static func own(_ flushed: (samples: [Sample], histograms: [HistogramSample]), _ name: String) -> Double {
        flushed.samples.last { $0.name == name }?.value ?? 0
    }

    /// `adv.x:1|c|@1e-20` killed monagent: `UInt64(1 / 1e-20)` traps. Every rate below 1e-6
    /// is now a malformed line; so is anything that is not a finite number (the `datadog`
    /// client sends `@nan` and `@inf` as given).
    @Test(arguments: [
        "1e-20", "1e-300", "1e-400", "0", "-0", "0.0000009", "-1", "-1e-20", "nan", "NaN", "inf", "-inf",
        "Infinity", "1e999", "0x1p-70", "", "@0.5", "0.5.5", "1e",
    ])
    func sampleRatesOutsideTheAcceptedRangeAreMalformed(_ rate: String) throws {
        let error = #expect(throws: StatsDParseError.self, "rate \(rate)") {
            try Array("adv.x:1|c|@\(rate)".utf8).withUnsafeBytes { try StatsDParser.parse($0) }
        }
        #expect(error?.reason.contains("sample rate") == true)
    }

    /// Above 1 (`datadog`'s `sample_rate=2` sends `@2`) every event was sent: rate 1.
    @Test(arguments: [
        ("1e-6", 1e-6), ("0.000001", 1e-6), ("1", 1.0), ("1.0", 1.0), ("0.25", 0.25), ("1E-3", 1e-3), ("2", 1.0),
        ("1.0000001", 1.0), ("1e308", 1.0),
    ])
    func sampleRatesInsideTheRangeAreKept(_ rate: String, _ expected: Double) throws {
        let line = try Array("x:1|c|@\(rate)".utf8).withUnsafeBytes { try StatsDParser.parse($0) }
        #expect(line?.sampleRate == expected)
    }

    @Test func oneSampledLineStandsForAtMostAMillionObservations() {
        #expect(AppAggregator.times(sampleRate: 1) == 1)
        #expect(AppAggregator.times(sampleRate: 0.5) == 2)
        #expect(AppAggregator.times(sampleRate: 0.3) == 3)
        #expect(AppAggregator.times(sampleRate: StatsDParser.minSampleRate) == 1_000_000)
        // Never reached through the parser, and still no trap.
        for rate in [0, -1, 1e-20, 1e-300, .nan, .infinity, -.infinity, 2, .leastNonzeroMagnitude] {
            let times = AppAggregator.times(sampleRate: rate)
            #expect(times >= 1 && times <= 1_000_000, "rate \(rate)")
        }
    }

    @Test func theDatagramThatKilledTheAgentIsCountedAsMalformed() {
        let aggregator = AppAggregator(config: StatsDConfig())
        Self.ingest(aggregator, "adv.x:1|c|@1e-20\nadv.y:1|c|@1e-300\nadv.z:1|ms|@0\nok:1|c")
        let flushed = aggregator.flush(timestampMs: 1000)
        #expect(Self.own(flushed, "mon_agent_statsd_malformed_total") == 3)
        #expect(flushed.samples.contains { $0.name == "app_ok_total" && $0.value == 1 })
        #expect(!flushed.samples.contains { $0.name.hasPrefix("app_adv") })
    }

    @Test func theSmallestRateScalesTimersAndCounters() throws {
        let aggregator = AppAggregator(config: StatsDConfig())
        Self.ingest(aggregator, "t:5|ms|@0.000001\nc:2|c|@1e-6")
        let flushed = aggregator.flush(timestampMs: 1000)
        let histogram = try #require(flushed.histograms.first { $0.name == "app_t_seconds" }?.histogram)
        #expect(histogram.count == 1_000_000)
        #expect(flushed.samples.last { $0.name == "app_c_total" }?.value == 2_000_000)
    }

    /// A counter or gauge that would reach infinity stays where it was, and the line counts as
    /// malformed: an infinite counter could never be used again (its rate is NaN forever).
    @Test func countersAndGaugeAdjustmentsThatWouldOverflowAreRefused() {
        let aggregator = AppAggregator(config: StatsDConfig())
        Self.ingest(aggregator, "c:1e308|c\nc:1e308|c\nd:1e308:1e308|c\ne:1e308|c|@0.5")
        Self.ingest(aggregator, "g:1e308|g\ng:+1e308|g\nh:-1e308|g\nh:-1e308|g\nk:+1e308:+1e308|g")
        let flushed = aggregator.flush(timestampMs: 1000)
        func value(_ name: String) -> Double? { flushed.samples.last { $0.name == name }?.value }
        #expect(value("app_c_total") == 1e308)
        #expect(value("app_d_total") == nil, "1e308 + 1e308 in one line")
        #expect(value("app_e_total") == nil, "1e308 / 0.5")
        #expect(value("app_g") == 1e308)
        #expect(value("app_h") == -1e308)
        #expect(value("app_k") == nil)
        #expect(Self.own(flushed, "mon_agent_statsd_malformed_total") == 6)
        #expect(flushed.samples.allSatisfy { $0.value.isFinite })
    }

    @Test func extremeValuesOfEveryTypeShipOnlyFiniteNumbers() {
        let aggregator = AppAggregator(config: StatsDConfig())
        let lines = [
            "a:1e308|ms", "a:1e308|ms", "b:-1e308|h", "b:1e308|h", "c:1.7976931348623157e308|d|@0.5",
            "d:4.9e-324|ms", "e:-4.9e-324|g", "f:1e308|s", "g:0|c", "h:-0|g", "i:1e-320|h|@0.000001",
        ]
        for line in lines { Self.ingest(aggregator, line) }
        let flushed = aggregator.flush(timestampMs: 1000)
        #expect(flushed.samples.allSatisfy { $0.value.isFinite })
        for sample in flushed.histograms {
            let histogram = sample.histogram
            #expect(histogram.sum.isFinite && histogram.count <= Histogram.maxCount, "\(sample.name)")
            // What the agent ships, the daemon's decoder takes back.
            #expect(
                Histogram(
                    buckets: histogram.buckets, zeroCount: histogram.zeroCount, sum: histogram.sum,
                    min: histogram.min, max: histogram.max) != nil, "\(sample.name)")
        }
    }

    /// `api.request.duration:1e308|ms` was accepted and drove the API's mean latency to 2.8e298:
    /// timings beyond a day (86 400 000 ms) or negative are refused and counted as malformed,
    /// for request timers and other timers alike; a day itself and the values beside a refused
    /// one in a multi-value line are kept.
    @Test func implausibleTimingsAreRefusedAndCounted() throws {
        let aggregator = AppAggregator(config: StatsDConfig())
        let tags = "|#endpoint:/v1/search,method:GET,status:200"
        Self.ingest(aggregator, "http.request.duration:1e308|ms\(tags)\nhttp.request.duration:-5|ms\(tags)")
        Self.ingest(aggregator, "http.request.duration:86400001|ms\(tags)\nhttp.request.duration:40:1e20|ms\(tags)")
        Self.ingest(aggregator, "job.run:1e308|ms\njob.run:-1|ms\njob.run:86400000|ms\njob.run:2|ms")
        // Seconds-valued request histograms and log events: the same one-day bound.
        Self.ingest(aggregator, "http.request.duration:90000|h\(tags)")
        aggregator.recordRequest(endpoint: "/v1/search", method: "GET", status: "200", seconds: 86_401)
        let flushed = aggregator.flush(timestampMs: 1000)
        #expect(Self.own(flushed, "mon_agent_statsd_malformed_total") == 8)
        let requests = try #require(flushed.histograms.first { $0.name == MetricNames.requestDuration }?.histogram)
        #expect(requests.count == 1, "only the 40 ms of the multi-value line")
        #expect(requests.sum < 0.05)
        let job = try #require(flushed.histograms.first { $0.name == "app_job_run_seconds" }?.histogram)
        #expect(job.count == 2, "a day exactly and 2 ms")
        #expect(job.sum <= AppAggregator.maxDurationSeconds + 0.01)
    }

    /// Counters and gauges whose value is not a finite number never reach an aggregate: the
    /// parser refuses `nan`, `inf` and numbers that overflow to infinity.
    @Test(arguments: [
        "x:nan|c", "x:NaN|g", "x:inf|c", "x:-inf|g", "x:Infinity|g", "x:1e999|c", "x:-1e999|g", "x:+1e999|g",
        "x:1:nan|c", "x:nan|ms", "x:1e999|ms",
    ])
    func nonFiniteCountersAndGaugesAreMalformed(_ line: String) {
        let aggregator = AppAggregator(config: StatsDConfig())
        Self.ingest(aggregator, line)
        let flushed = aggregator.flush(timestampMs: 1000)
        #expect(Self.own(flushed, "mon_agent_statsd_malformed_total") == 1)
        #expect(!flushed.samples.contains { $0.name.hasPrefix("app_x") })
        #expect(flushed.histograms.isEmpty)
    }

    /// Found by FuzzStatsD with the tightened invariants: a refused observation
    /// (`x:1e308|h|@0.5`, its sum would be infinite) left an empty histogram that was flushed.
    @Test func aRefusedObservationLeavesNoEmptyHistogram() {
        let aggregator = AppAggregator(config: StatsDConfig())
        Self.ingest(aggregator, "x:1e308|h|@0.5\nhttp.request.duration:1e308|h|@0.5|#endpoint:/a,method:GET,status:200")
        aggregator.recordRequest(endpoint: "/b", method: "GET", status: "200", seconds: .infinity)
        let flushed = aggregator.flush(timestampMs: 1000)
        #expect(flushed.histograms.isEmpty, "\(flushed.histograms.map(\.name))")
        #expect(Self.own(flushed, "mon_agent_statsd_malformed_total") == 3)
    }
}
