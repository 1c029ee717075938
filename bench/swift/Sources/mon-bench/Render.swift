import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore

/// Layout twin of `MonCore.CommittedBatch`, the only thing `LastValueCache.record` takes.
/// Its memberwise initializer is internal to MonCore (only the ingest writer makes one),
/// so the benchmark builds this twin and reinterprets it; `committedBatch` checks every
/// field back through the public getters, so a layout change fails loudly instead of
/// filling the cache with garbage. (A `public init` on CommittedBatch would make this go.)
private struct CommittedBatchTwin {
    var host: String
    var samples: [Sample]
    var histograms: [HistogramSample]
    var logs: [StoredLog]
}

func committedBatch(host: String, samples: [Sample], histograms: [HistogramSample]) -> CommittedBatch {
    precondition(
        MemoryLayout<CommittedBatchTwin>.size == MemoryLayout<CommittedBatch>.size
            && MemoryLayout<CommittedBatchTwin>.alignment == MemoryLayout<CommittedBatch>.alignment,
        "MonCore.CommittedBatch changed its layout; update CommittedBatchTwin")
    let twin = CommittedBatchTwin(host: host, samples: samples, histograms: histograms, logs: [])
    let batch = unsafeBitCast(twin, to: CommittedBatch.self)
    precondition(
        batch.host == host && batch.samples == samples && batch.histograms == histograms && batch.logs.isEmpty,
        "MonCore.CommittedBatch changed its layout; update CommittedBatchTwin")
    return batch
}

/// Median, minimum and maximum of a list of measurements.
struct Spread: Codable {
    var median: Double
    var min: Double
    var max: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        let n = sorted.count
        median = n == 0 ? .nan : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

struct RenderReport: Codable {
    struct FormatReport: Codable {
        /// `cache.snapshot(nowMs:)`: drop stale entries, copy out and sort.
        var snapshotMs: Spread
        /// `PrometheusText.render(cache:)` + `finish()` on that snapshot.
        var renderMs: Spread
        /// snapshot + render + finish: what a scrape pays before the HTTP layer.
        var totalMs: Spread
        /// The copy of the exposition into the response `ByteBuffer`, as the handler does
        /// (JSON key `utf8_ms`: it measured `Array(text.utf8)` before the render buffer).
        var utf8Ms: Spread
        /// `Gzip.compress` of those bytes (when `--gzip`).
        var gzipMs: Spread?
        var bytes: Int
        var gzipBytes: Int?
        /// Lines of the exposition, and those that are samples (not `#` comments).
        var lines: Int
        var sampleLines: Int
        /// Every timed repetition, in order (ms): snapshot, render, total, utf8, gzip.
        var raw: [String: [Double]]
    }

    var command = "render"
    var series: Int
    var valueSeries: Int
    var histogramSeries: Int
    var hosts: Int
    var observationsPerHistogram: Int
    var repeats: Int
    var warmup: Int
    /// Building the series and recording them into the cache (not part of a scrape).
    var fillMs: Double
    var formats: [String: FormatReport]
}

enum RenderCommand {
    static func run(_ options: Options) throws {
        let series = try options.int("series", default: 10_000)
        let repeats = try options.int("repeat", default: 30)
        let warmup = try options.int("warmup", default: 2)
        let hostCount = try options.int("hosts", default: 10)
        let observations = try options.int("observations", default: 300)
        let gzip = options.flag("gzip")
        let dump = options.string("dump")
        let formats = (options.string("formats") ?? "text004,openmetrics").split(separator: ",").map(String.init)
        try options.finish()

        let clock = ContinuousClock()
        let nowMs = WallClock.nowMs()
        let fillStart = clock.now
        let set = SeriesSet(
            series: series, hostCount: hostCount, observations: observations, seed: 42, timestampMs: nowMs)
        let cache = LastValueCache()
        for (index, host) in set.hosts.enumerated() {
            cache.record(
                committedBatch(host: host, samples: set.parts[index].samples, histograms: set.parts[index].histograms))
        }
        let fillMs = fillStart.duration(to: clock.now).milliseconds
        guard cache.count == series else {
            throw UsageError("the cache holds \(cache.count) series, expected \(series)")
        }

        var reports: [String: RenderReport.FormatReport] = [:]
        for name in formats {
            let format: PrometheusText.Format
            switch name {
            case "text004": format = .text004
            case "openmetrics": format = .openMetrics
            default: throw UsageError("unknown format \(name) (text004, openmetrics)")
            }
            var snapshotMs: [Double] = []
            var renderMs: [Double] = []
            var totalMs: [Double] = []
            var utf8Ms: [Double] = []
            var gzipMs: [Double] = []
            var text = ""
            var gzipBytes: Int?
            // The daemon keeps its exposition buffer between scrapes (API.renderBuffer).
            let renderBuffer = PrometheusText.RenderBuffer()
            for iteration in 0..<(warmup + repeats) {
                // The same calls, in the same order, as `GET /metrics` (API+Prometheus.swift),
                // without the daemon's own ~20 lines of ingest and process metrics.
                let t0 = clock.now
                let snapshot = cache.snapshot(nowMs: WallClock.nowMs())
                let t1 = clock.now
                var out = PrometheusText(format: format, buffer: renderBuffer.take())
                out.render(cache: snapshot)
                out.finish()
                let t2 = clock.now
                let bytes = out.takeBytes()
                // The handler's copy into the response body (reported as "utf8_ms").
                let body = ByteBuffer(bytes: bytes)
                let t3 = clock.now
                var compressed: [UInt8]?
                if gzip { compressed = Gzip.compress(bytes) }
                let t4 = clock.now
                if iteration >= warmup {
                    snapshotMs.append((t1 - t0).milliseconds)
                    renderMs.append((t2 - t1).milliseconds)
                    totalMs.append((t2 - t0).milliseconds)
                    utf8Ms.append((t3 - t2).milliseconds)
                    if gzip { gzipMs.append((t4 - t3).milliseconds) }
                }
                if iteration == warmup + repeats - 1 {
                    text = String(decoding: bytes, as: UTF8.self)
                    gzipBytes = compressed?.count
                }
                withExtendedLifetime((compressed, body)) {}
                renderBuffer.giveBack(bytes)
            }
            var lines = 0
            var sampleLines = 0
            for line in text.utf8.split(separator: UInt8(ascii: "\n")) {
                lines += 1
                if line.first != UInt8(ascii: "#") { sampleLines += 1 }
            }
            reports[name] = RenderReport.FormatReport(
                snapshotMs: Spread(snapshotMs), renderMs: Spread(renderMs), totalMs: Spread(totalMs),
                utf8Ms: Spread(utf8Ms), gzipMs: gzip ? Spread(gzipMs) : nil, bytes: text.utf8.count,
                gzipBytes: gzipBytes, lines: lines, sampleLines: sampleLines,
                raw: [
                    "snapshot_ms": snapshotMs, "render_ms": renderMs, "total_ms": totalMs, "utf8_ms": utf8Ms,
                    "gzip_ms": gzipMs,
                ])
            if let dump {
                let path = formats.count == 1 ? dump : "\(dump).\(name)"
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            }
        }
        let report = RenderReport(
            series: series, valueSeries: set.sampleCount, histogramSeries: set.histogramCount, hosts: set.hosts.count,
            observationsPerHistogram: observations, repeats: repeats, warmup: warmup, fillMs: fillMs, formats: reports)
        try printJSON(report)
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
    FileHandle.standardOutput.write(try encoder.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}
