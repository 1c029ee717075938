import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The exposition of a fixed set of series, diffed exactly against committed golden files
/// (`Fixtures/prometheus/golden.{prom,openmetrics}`), in both formats. Regenerate with
/// `MON_UPDATE_GOLDEN=1 swift test --filter PrometheusExpositionTests` and review the diff.
@Suite struct PrometheusExpositionTests {
    static func goldenCache() -> LastValueCache {
        let cache = LastValueCache(staleAfterMs: 60_000)
        var window = Histogram()
        for value in [0.0004, 0.004, 0.02, 0.02, 0.3, 7, 70] { window.record(value) }
        cache.record(
            CommittedBatch(
                host: "web-1",
                samples: [
                    Sample("mon_host_cpu_usage_ratio", ["cpu": "all"], value: 0.25, timestampMs: 1000),
                    Sample("mon_host_cpu_usage_ratio", ["cpu": "0"], value: 0.125, timestampMs: 1000),
                    Sample("mon_host_memory_used_bytes", value: 1_073_741_824, timestampMs: 1000),
                    Sample("mon_host_load1", value: .nan, timestampMs: 1000),
                    Sample(
                        "mon_host_disk_free_ratio", ["mount": "/srv/\"q\"\\x\n"], value: .infinity, timestampMs: 1000),
                    Sample("mon_redis_keyspace_hits_total", value: 12_345, kind: .counter, timestampMs: 1000),
                    Sample(
                        "mon_host_cpu_seconds_total", ["mode": "user"], value: 1.5, kind: .counter, timestampMs: 1000),
                    Sample("mon_app_requests", ["host": "inner"], value: 3, kind: .counter, timestampMs: 1000),
                ],
                histograms: [
                    HistogramSample(
                        "mon_app_request_duration_seconds", ["endpoint": "/v1/search", "method": "GET"],
                        timestampMs: 1000, histogram: window)
                ], logs: []))
        cache.record(
            CommittedBatch(
                host: "web-2",
                samples: [Sample("mon_host_cpu_usage_ratio", ["cpu": "all"], value: -0.0, timestampMs: 1000)],
                histograms: [], logs: []))
        return cache
    }

    static func render(_ format: PrometheusText.Format) -> String {
        var out = PrometheusText(format: format)
        out.render(cache: goldenCache().snapshot(nowMs: 2000))
        out.finish()
        return out.text
    }

    static func golden(_ name: String, actual: String) throws -> String {
        if ProcessInfo.processInfo.environment["MON_UPDATE_GOLDEN"] == "1" {
            let source = Fixtures.directory.appendingPathComponent("prometheus/\(name)")
            try actual.write(to: source, atomically: true, encoding: .utf8)
        }
        return try Fixtures.text("prometheus/\(name)")
    }

    @Test("text format 0.0.4 matches the golden file exactly")
    func textGolden() throws {
        let actual = Self.render(.text004)
        #expect(actual == (try Self.golden("golden.prom", actual: actual)))
    }

    @Test("OpenMetrics 1.0.0 matches the golden file exactly (# UNIT, counters without _total, # EOF)")
    func openMetricsGolden() throws {
        let actual = Self.render(.openMetrics)
        #expect(actual == (try Self.golden("golden.openmetrics", actual: actual)))
        #expect(actual.hasSuffix("# EOF\n"))
        #expect(actual.contains("# TYPE mon_redis_keyspace_hits counter\n"))
        #expect(actual.contains("mon_redis_keyspace_hits_total{host=\"web-1\"} 12345\n"))
        #expect(actual.contains("# UNIT mon_host_memory_used_bytes bytes\n"))
        #expect(actual.contains("mon_app_requests_total{host=\"web-1\",exported_host=\"inner\"} 3\n"))
    }

    @Test(
        "Accept negotiation: OpenMetrics only when asked for with the best quality",
        arguments: [
            (nil, PrometheusText.Format.text004),
            ("text/plain", .text004),
            ("application/openmetrics-text", .openMetrics),
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                .openMetrics
            ),
            ("text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5", .text004),
            ("application/openmetrics-text;version=2.0.0", .text004),
            ("application/openmetrics-text;q=0", .text004),
            ("application/json", .text004),
            (";;;,,=q", .text004),
        ] as [(String?, PrometheusText.Format)])
    func negotiation(accept: String?, expected: PrometheusText.Format) {
        #expect(PrometheusText.Format.negotiate(accept: accept) == expected)
    }

    @Test("gzip output decompresses (by gzip(1)) to the input; Accept-Encoding parsed with q")
    func gzip() throws {
        let input = Array(Self.render(.text004).utf8)
        let compressed = try #require(Gzip.compress(input))
        #expect(compressed.count < input.count)
        #expect(compressed.prefix(2) == [0x1f, 0x8b])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(compressed))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(Array(output) == input)
        #expect(Gzip.compress([]) != nil)
        #expect(Gzip.isAccepted("gzip, deflate"))
        #expect(Gzip.isAccepted("br;q=1.0, *;q=0.5"))
        #expect(!Gzip.isAccepted("gzip;q=0"))
        #expect(!Gzip.isAccepted("identity"))
        #expect(!Gzip.isAccepted(nil))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
