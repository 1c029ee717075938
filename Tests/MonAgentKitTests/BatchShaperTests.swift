import NIOCore
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The agent's side: every series key within the daemon's limits, every batch within a frame.
@Suite struct BatchShaperTests {
    static func log(_ index: Int, bytes: Int) -> LogRecord {
        LogRecord(
            timestampMs: Int64(index), level: .info, service: "api", event: String(repeating: "e", count: bytes),
            logger: "l", traceID: index % 2 == 0 ? "t" : nil, fields: "{\"i\":\(index)}", source: "/var/log/app.log",
            offset: Int64(index))
    }

    static func encoded(_ batch: Batch) -> Int {
        var buffer = ByteBuffer()
        BatchCodec.encode(batch, into: &buffer)
        return buffer.readableBytes
    }

    @Test("the computed size is the encoding's, for every kind of record")
    func encodedSizeIsExact() throws {
        let histogram = try #require(Histogram(buckets: [3: 2, -7: 1], zeroCount: 1, sum: 4, min: 0, max: 3))
        let batches = [
            Batch(seq: 1, createdMs: 2, samples: []),
            Batch(
                seq: 9, createdMs: 2, samples: [Sample("m", ["a": "x", "bé": "ü"], value: 1, timestampMs: 3)],
                events: [Event(kind: "k", key: "key", timestampMs: 4, payload: "{\"a\":1}")],
                histograms: [HistogramSample("h", ["e": "/v1"], timestampMs: 5, histogram: histogram)],
                logs: [Self.log(0, bytes: 10), Self.log(1, bytes: 0)]),
        ]
        for batch in batches { #expect(BatchCodec.encodedSize(of: batch) == Self.encoded(batch)) }
    }

    @Test("2 000 log records of 64 KiB are split into batches under the limit, none lost, in order")
    func logsAreSplit() {
        let logs = (0..<2000).map { Self.log($0, bytes: 64 * 1024) }
        let shaper = BatchShaper(maxBatchBytes: 4 << 20)
        let parts = shaper.shape(Batch(seq: 0, createdMs: 1, samples: [], logs: logs))
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { Self.encoded($0) <= 4 << 20 })
        #expect(parts.flatMap(\.logs).map(\.offset) == logs.map(\.offset))
        #expect(shaper.counters[.splitBatches] == 1)
        #expect(shaper.counters[.oversizedRecords] == 0)
    }

    @Test("a record larger than the limit alone is dropped and counted; the rest goes")
    func oversizedRecordIsDropped() {
        let shaper = BatchShaper(maxBatchBytes: 64 * 1024)
        let batch = Batch(
            seq: 0, createdMs: 1, samples: [Sample("m", value: 1, timestampMs: 1)],
            events: [Event(kind: "plan", key: "1", timestampMs: 1, payload: String(repeating: "p", count: 100_000))],
            logs: [Self.log(1, bytes: 10)])
        let parts = shaper.shape(batch)
        #expect(parts.flatMap(\.events).isEmpty)
        #expect(parts.flatMap(\.samples).count == 1)
        #expect(parts.flatMap(\.logs).count == 1)
        #expect(shaper.counters[.oversizedRecords] == 1)
    }

    @Test func aBatchThatFitsIsLeftAlone() {
        let shaper = BatchShaper()
        let batch = Batch(seq: 0, createdMs: 1, samples: [Sample("m", ["a": "b"], value: 1, timestampMs: 1)])
        #expect(shaper.shape(batch) == [batch])
        #expect(shaper.counters[.truncatedSeries] == 0)
    }

    @Test("the queue numbers every part and answers with the last seq")
    func queueNumbersParts() async {
        let queue = MemoryBatchQueue(capacity: 100, shaper: BatchShaper(maxBatchBytes: 64 * 1024))
        let logs = (0..<10).map { Self.log($0, bytes: 20_000) }
        let last = await queue.enqueue(Batch(seq: 0, createdMs: 1, samples: [], logs: logs))
        #expect(last > 1)
        #expect(await queue.depth == Int(last))
        #expect(await queue.isAcknowledged(last - 1) == false)
    }

    static let hostile: [(String, Labels)] = [
        ("1bad name", ["a": "x"]),
        ("ok", ["__reserved": "x", "with-dash": "y", "": "z"]),
        ("ok", ["tag": String(repeating: "v", count: 10_000)]),
        ("ok", ["tag": "nul\u{0}inside"]),
        ("ok", Labels(Dictionary(uniqueKeysWithValues: (0..<100).map { ("t\($0)", "value-\($0)") }))),
        (
            "ok",
            Labels(Dictionary(uniqueKeysWithValues: (0..<20).map { ("t\($0)", String(repeating: "\"", count: 500)) }))
        ),
        (String(repeating: "n", count: 5000), ["a": "x"]),
        ("mon_host_filesystem_free_bytes", ["mountpoint": "/" + String(repeating: "deep/", count: 1000)]),
    ]

    @Test("every hostile series comes out valid and counted", arguments: hostile)
    func hostileSeriesAreFixed(name: String, labels: Labels) throws {
        #expect(SeriesLimits.problem(name: name, labels: labels) != nil)
        let fixed = try #require(SeriesKeyGuard.fix(name: name, labels: labels))
        #expect(SeriesLimits.problem(name: fixed.name, labels: fixed.labels) == nil, "\(fixed)")
        let shaper = BatchShaper()
        let parts = shaper.shape(Batch(seq: 0, createdMs: 1, samples: [Sample(name, labels, value: 1, timestampMs: 1)]))
        #expect(parts.first?.samples.first?.name == fixed.name)
        #expect(shaper.counters[.truncatedSeries] == 1)
    }

    @Test("many tags of 190 bytes (StatsD's most): the name stays, the labels that fit stay, the rest is folded")
    func wideTagSetsKeepTheName() throws {
        let labels = Labels(
            Dictionary(uniqueKeysWithValues: (0..<31).map { ("t\($0)", String(repeating: "x", count: 190)) }))
        let fixed = try #require(SeriesKeyGuard.fix(name: "app_wide_tags_total", labels: labels))
        #expect(fixed.name == "app_wide_tags_total")
        #expect(fixed.labels.count > 10)
        #expect(fixed.labels[SeriesKeyGuard.foldedLabel] != nil)
        #expect(SeriesLimits.problem(name: fixed.name, labels: fixed.labels) == nil)
    }

    @Test("values cut differently stay different series")
    func cutsKeepSeriesApart() throws {
        let prefix = String(repeating: "v", count: 2000)
        let a = try #require(SeriesKeyGuard.fix(name: "m", labels: ["t": prefix + "a"]))
        let b = try #require(SeriesKeyGuard.fix(name: "m", labels: ["t": prefix + "b"]))
        #expect(a.labels != b.labels)
        let many = { (last: String) in
            Labels(Dictionary(uniqueKeysWithValues: (0..<40).map { ("t\($0)", $0 == 39 ? last : "v") }))
        }
        let c = try #require(SeriesKeyGuard.fix(name: "m", labels: many("1")))
        let d = try #require(SeriesKeyGuard.fix(name: "m", labels: many("2")))
        #expect(c.labels != d.labels)
        #expect(c.labels[SeriesKeyGuard.foldedLabel] != nil)
    }

    @Test("skipSequence numbers after the given seq and drops nothing")
    func skipSequence() async {
        let queue = MemoryBatchQueue(capacity: 10)
        await queue.enqueue(Batch(seq: 0, createdMs: 1, samples: []))
        await queue.skipSequence(past: 1000)
        #expect(await queue.depth == 1)
        #expect(await queue.enqueue(Batch(seq: 0, createdMs: 1, samples: [])) == 1001)
        await queue.skipSequence(past: 5)
        #expect(await queue.enqueue(Batch(seq: 0, createdMs: 1, samples: [])) == 1002)
    }
}
