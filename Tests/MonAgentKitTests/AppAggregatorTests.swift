import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct AppAggregatorTests {
    typealias Flushed = (samples: [Sample], histograms: [HistogramSample])

    static func aggregator(_ configure: (inout StatsDConfig) -> Void = { _ in }) -> AppAggregator {
        var config = StatsDConfig()
        configure(&config)
        return AppAggregator(config: config)
    }

    static func ingest(_ aggregator: AppAggregator, _ text: String) {
        Array(text.utf8).withUnsafeBytes { aggregator.ingest(datagram: $0) }
    }

    static func samples(_ flushed: Flushed, _ name: String) -> [Sample] {
        flushed.samples.filter { $0.name == name }
    }

    /// The series' value at the flush (a new counter also has a 0 just before it).
    static func value(_ flushed: Flushed, _ name: String, _ labels: Labels = [:]) -> Double? {
        flushed.samples.filter { $0.name == name && $0.labels == labels }.max { $0.timestampMs < $1.timestampMs }?
            .value
    }

    static func histogram(_ flushed: Flushed, _ name: String, _ labels: Labels = [:]) -> Histogram? {
        flushed.histograms.first { $0.name == name && $0.labels == labels }?.histogram
    }

    // MARK: Counters

    @Test func sampledCounterIsScaledAndCumulativeAcrossFlushes() throws {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "x:2|c|@0.5")
        let first = aggregator.flush(timestampMs: 1000)
        // A new counter starts with a 0 just before its first value, so its first increase counts.
        let series = Self.samples(first, "app_x_total").sorted { $0.timestampMs < $1.timestampMs }
        #expect(series.map(\.value) == [0, 4])
        #expect(series.map(\.timestampMs) == [999, 1000])
        #expect(series.allSatisfy { $0.kind == .counter && $0.labels.isEmpty })

        Self.ingest(aggregator, "x:2|c|@0.5")
        Self.ingest(aggregator, "x:1|c")
        let second = aggregator.flush(timestampMs: 2000)
        #expect(Self.samples(second, "app_x_total").map(\.value) == [9])
        #expect(Self.samples(second, "app_x_total").map(\.timestampMs) == [2000])
        // Nothing new: the total is still shipped, unchanged.
        #expect(Self.samples(aggregator.flush(timestampMs: 3000), "app_x_total").map(\.value) == [9])
    }

    @Test func eachNewTagSetOfACounterGetsItsOwnStartingZero() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "hits:1|c|#cache:a")
        _ = aggregator.flush(timestampMs: 1000)
        Self.ingest(aggregator, "hits:1|c|#cache:a\nhits:3|c|#cache:b")
        let flushed = aggregator.flush(timestampMs: 2000)
        let zeros = flushed.samples.filter { $0.name == "app_hits_total" && $0.value == 0 }
        #expect(zeros.map(\.labels) == [["cache": "b"]])
        #expect(zeros.map(\.timestampMs) == [1999])
        #expect(Self.value(flushed, "app_hits_total", ["cache": "a"]) == 2)
        #expect(Self.value(flushed, "app_hits_total", ["cache": "b"]) == 3)
        // Gauges and the agent's own counters have no starting zero.
        Self.ingest(aggregator, "depth:5|g")
        aggregator.count("mon_agent_logs_lines_total")
        let later = aggregator.flush(timestampMs: 3000)
        #expect(Self.samples(later, "app_depth").map(\.value) == [5])
        #expect(Self.samples(later, "mon_agent_logs_lines_total").map(\.value) == [1])
    }

    @Test func counterNamesAreSanitizedAndGetOneTotalSuffix() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "api.search-hybrid:1|c\njobs_total:2|c\nmulti:1:2:3|c")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.value(flushed, "app_api_search_hybrid_total") == 1)
        #expect(Self.value(flushed, "app_jobs_total") == 2)
        #expect(Self.samples(flushed, "app_jobs_total_total").isEmpty)
        #expect(Self.value(flushed, "app_multi_total") == 6)
    }

    @Test func configuredPrefixIsUsed() {
        let aggregator = Self.aggregator { $0.prefix = "svc_" }
        Self.ingest(aggregator, "x:1|c")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.value(flushed, "svc_x_total") == 1)
        #expect(Self.samples(flushed, "app_x_total").isEmpty)
    }

    @Test func negativeCounterIncrementIsRefusedAndCounted() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "x:5|c")
        Self.ingest(aggregator, "x:-2|c")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.value(flushed, "app_x_total") == 5)
        #expect(Self.value(flushed, "mon_agent_statsd_malformed_total") == 1)
    }

    // MARK: Gauges and sets

    @Test func gaugesAreSetAndAdjustedByDeltas() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "queue:10|g")
        #expect(Self.value(aggregator.flush(timestampMs: 0), "app_queue") == 10)
        Self.ingest(aggregator, "queue:+3|g")
        #expect(Self.value(aggregator.flush(timestampMs: 1), "app_queue") == 13)
        Self.ingest(aggregator, "queue:-5|g\nqueue:-1|g")
        let flushed = aggregator.flush(timestampMs: 2)
        #expect(Self.value(flushed, "app_queue") == 7)
        #expect(Self.samples(flushed, "app_queue").first?.kind == .gauge)
        Self.ingest(aggregator, "queue:42|g")
        #expect(Self.value(aggregator.flush(timestampMs: 3), "app_queue") == 42)
        // A gauge keeps its value through flushes without new lines.
        #expect(Self.value(aggregator.flush(timestampMs: 4), "app_queue") == 42)
        // Several values in one line: the last one wins.
        Self.ingest(aggregator, "queue:1:2:3|g")
        #expect(Self.value(aggregator.flush(timestampMs: 5), "app_queue") == 3)
    }

    @Test func aDeltaOnAnUnknownGaugeStartsFromZero() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "fresh:-4|g")
        #expect(Self.value(aggregator.flush(timestampMs: 0), "app_fresh") == -4)
    }

    @Test func setsCountUniqueMembersPerWindow() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "users:alice|s\nusers:bob|s\nusers:alice|s")
        #expect(Self.value(aggregator.flush(timestampMs: 0), "app_users_unique") == 2)
        #expect(Self.samples(aggregator.flush(timestampMs: 1), "app_users_unique").isEmpty)
        Self.ingest(aggregator, "users:alice|s")
        #expect(Self.value(aggregator.flush(timestampMs: 2), "app_users_unique") == 1)
    }

    // MARK: Histograms

    @Test func timerBecomesASecondsHistogramResetAfterFlush() throws {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "lat:250|ms")
        let flushed = aggregator.flush(timestampMs: 5000)
        let sample = try #require(flushed.histograms.first { $0.name == "app_lat_seconds" })
        #expect(sample.timestampMs == 5000)
        #expect(sample.histogram.count == 1)
        #expect(sample.histogram.quantile(0.5) == 0.25)
        #expect(sample.histogram.sum == 0.25)
        #expect(aggregator.flush(timestampMs: 6000).histograms.isEmpty)
    }

    @Test func sampledAndMultiValueTimersAreWeighted() throws {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "lat:100:300|ms|@0.1")
        let histogram = try #require(Self.histogram(aggregator.flush(timestampMs: 0), "app_lat_seconds"))
        #expect(histogram.count == 20)
        #expect(abs(histogram.sum - 4) < 1e-9)
    }

    @Test func histogramsAndDistributionsAreNotScaled() throws {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "size:1024|h\nrows:7|d|#table:t")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.histogram(flushed, "app_size")?.quantile(1) == 1024)
        #expect(Self.histogram(flushed, "app_rows", ["table": "t"])?.quantile(1) == 7)
    }

    @Test func requestTimerFeedsTheRequestHistogramWithNormalizedLabels() throws {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "http.request.duration:120|ms|#endpoint:/v1/memories/42,method:get,status:200")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(flushed.histograms.count == 1)
        let sample = try #require(flushed.histograms.first)
        #expect(sample.name == MetricNames.requestDuration)
        #expect(
            sample.labels == ["endpoint": "/v1/memories/{id}", "method": "GET", "status": "200", "source": "statsd"])
        #expect(abs((sample.histogram.quantile(0.5) ?? 0) - 0.12) < 1e-12)
    }

    @Test func requestTimerWithoutAnEndpointIsAnOrdinaryTimer() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "http.request.duration:120|ms|#method:get")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.histogram(flushed, "app_http_request_duration_seconds", ["method": "get"])?.count == 1)
        #expect(flushed.histograms.allSatisfy { $0.name != MetricNames.requestDuration })
    }

    @Test func recordRequestNormalizesMethodStatusAndEndpoint() {
        let aggregator = Self.aggregator()
        aggregator.recordRequest(endpoint: "/v1/items/123?full=1", method: "post", status: "201.0", seconds: 0.5)
        aggregator.recordRequest(endpoint: "/health", method: "GE T", status: "abc", seconds: 0.001, times: 3)
        aggregator.recordRequest(endpoint: "/health", method: "", status: "999", seconds: 0.001)
        let flushed = aggregator.flush(timestampMs: 0)
        let metric = MetricNames.requestDuration
        #expect(
            Self.histogram(
                flushed, metric, ["endpoint": "/v1/items/{id}", "method": "POST", "status": "201", "source": "logs"])?
                .count
                == 1)
        #expect(
            Self.histogram(
                flushed, metric, ["endpoint": "/health", "method": "OTHER", "status": "unknown", "source": "logs"])?
                .count
                == 3)
        #expect(
            Self.histogram(
                flushed, metric, ["endpoint": "/health", "method": "", "status": "unknown", "source": "logs"])?.count
                == 1)
    }

    @Test(arguments: [-1, Double.nan, .infinity])
    func impossibleRequestDurationsAreCountedNotRecorded(_ seconds: Double) {
        let aggregator = Self.aggregator()
        aggregator.recordRequest(endpoint: "/x", method: "GET", status: "200", seconds: seconds)
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(flushed.histograms.isEmpty)
        #expect(Self.value(flushed, "mon_agent_statsd_malformed_total") == 1)
    }

    // MARK: Cardinality

    @Test func tagSetsBeyondTheCapFoldIntoOverflow() {
        let aggregator = Self.aggregator { $0.maxTagSets = 2 }
        Self.ingest(aggregator, "m:1|c|#a:1\nm:1|c|#a:2\nm:1|c|#a:3\nm:1|c|#a:4\nm:5|c|#a:1")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.value(flushed, "app_m_total", ["a": "1"]) == 6)
        #expect(Self.value(flushed, "app_m_total", ["a": "2"]) == 1)
        #expect(Self.value(flushed, "app_m_total", ["overflow": "true"]) == 2)
        #expect(Set(Self.samples(flushed, "app_m_total").map(\.labels)).count == 3)
        #expect(Self.value(flushed, "mon_agent_statsd_folded_total") == 2)
    }

    @Test func overflowAppliesToRequestHistogramsToo() {
        let aggregator = Self.aggregator { $0.maxTagSets = 2 }
        for path in ["/a", "/b", "/c"] {
            aggregator.recordRequest(endpoint: path, method: "GET", status: "200", seconds: 0.1)
        }
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.histogram(flushed, MetricNames.requestDuration, ["overflow": "true"])?.count == 1)
        #expect(flushed.histograms.count == 3)
        #expect(Self.value(flushed, "mon_agent_statsd_folded_total") == 1)
    }

    @Test func metricsBeyondTheCapAreDroppedAndCounted() {
        let aggregator = Self.aggregator { $0.maxMetrics = 2 }
        Self.ingest(aggregator, "a:1|c\nb:1|g\nc:1|c\nd:5|ms\na:1|c")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.value(flushed, "app_a_total") == 2)
        #expect(Self.value(flushed, "app_b") == 1)
        #expect(Self.samples(flushed, "app_c_total").isEmpty)
        #expect(flushed.histograms.isEmpty)
        #expect(Self.value(flushed, "mon_agent_statsd_dropped_total") == 2)
    }

    // MARK: Robustness and own counters

    @Test func malformedLinesAreCountedWithoutLosingTheirNeighbours() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "good:1|c\nno pipe here\nx:abc|c\r\n_e{1,1}:a|b\ngood:2|c\n")
        let flushed = aggregator.flush(timestampMs: 0)
        #expect(Self.value(flushed, "app_good_total") == 3)
        #expect(Self.value(flushed, "mon_agent_statsd_malformed_total") == 2)
        #expect(Self.value(flushed, "mon_agent_statsd_ignored_total") == 1)
        #expect(Self.value(flushed, "mon_agent_statsd_lines_total") == 5)
        #expect(Self.value(flushed, "mon_agent_statsd_datagrams_total") == 1)
        #expect(Self.samples(flushed, "mon_agent_statsd_malformed_total").first?.kind == .counter)
    }

    @Test func reservedTagNamesAreRenamedAndTagNamesSanitized() {
        let aggregator = Self.aggregator()
        Self.ingest(aggregator, "m:1|g|#host:web-1,overflow:yes,my-tag:x,flag")
        let flushed = aggregator.flush(timestampMs: 0)
        let labels = flushed.samples.first { $0.name == "app_m" }?.labels
        #expect(labels?["host"] == nil)
        #expect(labels?["exported_host"] == "web-1")
        #expect(labels?["overflow"] == nil)
        #expect(labels?["exported_overflow"] == "yes")
        #expect(labels?["my_tag"] == "x")
        #expect(labels?["flag"] == "")
        #expect(labels?.count == 4)
    }

    @Test func ownCountersAddUpAndZeroIsNotRecorded() {
        let aggregator = Self.aggregator()
        aggregator.count("mon_agent_logs_lines_total", by: 0)
        #expect(Self.samples(aggregator.flush(timestampMs: 0), "mon_agent_logs_lines_total").isEmpty)
        aggregator.count("mon_agent_logs_lines_total")
        aggregator.count("mon_agent_logs_lines_total", by: 4)
        #expect(Self.value(aggregator.flush(timestampMs: 1), "mon_agent_logs_lines_total") == 5)
        aggregator.count("mon_agent_logs_lines_total", by: 2)
        let flushed = aggregator.flush(timestampMs: 2)
        #expect(Self.value(flushed, "mon_agent_logs_lines_total") == 7)
        #expect(Self.samples(flushed, "mon_agent_logs_lines_total").first?.kind == .counter)
    }
}
