import MonTestSupport
import Synchronization
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The fleet's request statistics read once for the summary, the alert rules and the anomaly
/// monitor of a moment (issue 21, hosts per daemon).
@Suite(.timeLimit(.minutes(1))) struct FleetReadsTests {
    struct Failure: Error {}

    /// What the readers were asked, in order.
    final class Recorded<Item: Sendable>: Sendable {
        private let items = Mutex<[Item]>([])
        func append(_ item: Item) { items.withLock { $0.append(item) } }
        var all: [Item] { items.withLock { $0 } }
    }

    /// A reader that counts its reads and names each answer by its range's end.
    static func counting(
        _ reads: Recorded<TimeRange>, delay: Duration = .zero, fail: Bool = false
    ) -> @Sendable (TimeRange) async throws -> FleetReads.Figures {
        { range in
            reads.append(range)
            if delay > .zero { try await Task.sleep(for: delay) }
            if fail { throw Failure() }
            return FleetReads.Figures(
                range: range, byHost: ["h\(range.endMs)": []], byEndpoint: [EndpointStats(method: "GET", endpoint: "/")]
            )
        }
    }

    static func reads(
        _ figures: @escaping @Sendable (TimeRange) async throws -> FleetReads.Figures,
        increases: Recorded<String> = Recorded()
    ) -> FleetReads {
        FleetReads(
            readFigures: figures,
            readIncrease: { [increases] name, range in
                increases.append("\(name) \(range.periodSeconds) \(range.endMs)")
                return [(host: "h1", labels: [:], value: Double(range.endMs))]
            })
    }

    @Test func callersOfAMomentShareOneRead() async throws {
        let reads = Recorded<TimeRange>()
        let fleet = Self.reads(Self.counting(reads, delay: .milliseconds(20)))
        let ends = try await withThrowingTaskGroup(of: Int64.self) { group in
            for offset in 0..<6 {
                group.addTask {
                    try await fleet.figures(windowSeconds: 300, nowMs: 100_000 + Int64(offset) * 10).range.endMs
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(ends == Array(repeating: 100_000, count: 6))
        #expect(reads.all.count == 1 && fleet.reads.figures == 1)
        // The range is the last 300 s before the first caller's moment, as `TimeRange` cuts it.
        #expect(reads.all[0] == (try TimeRange(period: "300s", step: nil, nowMs: 100_000)))
        // Still young: reused; another window is its own read.
        #expect(try await fleet.figures(windowSeconds: 300, nowMs: 100_999).range.endMs == 100_000)
        #expect(try await fleet.figures(windowSeconds: 900, nowMs: 100_999).range.periodSeconds == 900)
        #expect(fleet.reads.figures == 2)
        // Past the longest reuse (10 s; how long the read really took, and so its reuse between
        // 1 and 10 s, depends on the machine's load): read again.
        #expect(try await fleet.figures(windowSeconds: 300, nowMs: 111_000).range.endMs == 111_000)
        // A clock that went back does not take figures "from the future".
        #expect(try await fleet.figures(windowSeconds: 300, nowMs: 100_500).range.endMs == 100_500)
        #expect(fleet.reads.figures == 4)
    }

    @Test func increasesAreSharedByNameAndWindow() async throws {
        let increases = Recorded<String>()
        let fleet = Self.reads(Self.counting(Recorded()), increases: increases)
        #expect(try await fleet.increase(name: "a_total", windowSeconds: 3600, nowMs: 7_000_000)[0].value == 7_000_000)
        #expect(try await fleet.increase(name: "a_total", windowSeconds: 3600, nowMs: 7_000_900)[0].value == 7_000_000)
        #expect(try await fleet.increase(name: "b_total", windowSeconds: 3600, nowMs: 7_000_900)[0].value == 7_000_900)
        #expect(try await fleet.increase(name: "a_total", windowSeconds: 300, nowMs: 7_000_900)[0].value == 7_000_900)
        #expect(
            increases.all == ["a_total 3600 7000000", "b_total 3600 7000900", "a_total 300 7000900"])
        #expect(fleet.reads.increases == 3 && fleet.reads.figures == 0)
    }

    @Test func aSlowReadIsReusedTenTimesAsLongUpToTheBound() {
        let reads = SharedReads<Int, Int>(minAgeMs: 1000, maxAgeMs: 10_000)
        #expect(reads.ageMs(tookMs: nil, windowSeconds: 300) == 1000)
        #expect(reads.ageMs(tookMs: 30, windowSeconds: 300) == 1000)
        #expect(reads.ageMs(tookMs: 400, windowSeconds: 300) == 4000)
        #expect(reads.ageMs(tookMs: 1700, windowSeconds: 300) == 10_000)
        #expect(reads.ageMs(tookMs: .max, windowSeconds: 300) == 10_000)
        // A long window changes slowly: up to 1/120 of it (an hour: 30 s).
        #expect(reads.ageMs(tookMs: 1700, windowSeconds: 3600) == 17_000)
        #expect(reads.ageMs(tookMs: 5000, windowSeconds: 3600) == 30_000)
        #expect(reads.ageMs(tookMs: 30, windowSeconds: 3600) == 1000)
    }

    @Test func aFailedReadIsForgotten() async throws {
        let reads = Recorded<TimeRange>()
        let failing = Self.reads(Self.counting(reads, fail: true))
        await #expect(throws: Failure.self) { try await failing.figures(windowSeconds: 300, nowMs: 50_000) }
        await #expect(throws: Failure.self) { try await failing.figures(windowSeconds: 300, nowMs: 50_001) }
        #expect(reads.all.count == 2)
    }

    /// Rows of three hosts × four endpoints × statuses, with counts, buckets, zero counts and
    /// sums that are multiples of 1/8 (exact in any order of addition).
    static func rows() -> (series: [Int64: EndpointMerger.Series], rows: [(Int64, Int64?, [Int64], [Int64])]) {
        var series: [Int64: EndpointMerger.Series] = [:]
        var id: Int64 = 0
        for host in ["h1", "h2", "h3"] {
            for path in ["/a", "/b", "/c"] {
                for (method, status) in [("GET", "200"), ("GET", "503"), ("POST", "404")] {
                    id += 1
                    series[id] = EndpointMerger.Series(
                        method: method, endpoint: path, status: status, source: id % 5 == 0 ? "logs" : "statsd",
                        group: host)
                }
            }
        }
        var rows: [(Int64, Int64?, [Int64], [Int64])] = []
        var rng = SeededGenerator(state: 7)
        for _ in 0..<400 {
            let id = Int64(rng.next() % UInt64(id)) + 1
            let buckets = (0..<(1 + rng.next() % 5)).map { _ in Int64(rng.next() % 40) - 10 }
            rows.append((id, Int64(rng.next() % 4) * 60, buckets, buckets.map { _ in Int64(rng.next() % 9) }))
        }
        return (series, rows)
    }

    static func merger(_ series: [Int64: EndpointMerger.Series], _ rows: [(Int64, Int64?, [Int64], [Int64])])
        -> EndpointMerger
    {
        var merger = EndpointMerger(series: series)
        for (index, (id, step, indexes, counts)) in rows.enumerated() {
            merger.add(
                seriesID: id, step: step, count: counts.reduce(0, +) + Int64(index % 3),
                sum: Double(index % 17) * 0.125, zeroCount: Int64(index % 3),
                min: index % 11 == 0 ? 0 : 0.001 * Double(index % 7 + 1),
                max: 2 + Double(index % 13), indexes: indexes, counts: counts)
        }
        return merger
    }

    struct Figures: Equatable {
        var method: String
        var endpoint: String
        var byStatus: [String: Int64]
        var histogram: Histogram
        var sources: Set<String>
        var points: [String]

        init(_ stats: EndpointStats) {
            (method, endpoint, byStatus, histogram, sources) = (
                stats.method, stats.endpoint, stats.byStatus, stats.histogram, stats.sources
            )
            points = stats.points.map {
                "\($0.startMs) \($0.requests) \($0.serverErrors) \($0.p50 ?? -1) \($0.p99 ?? -1)"
            }
        }
    }

    /// Merged per host and endpoint, then regrouped, equals merged per host (or per endpoint)
    /// from the start: the one scan answers both of the reads it replaces.
    @Test func regroupedEqualsMergedThatWayFromTheStart() {
        let (series, rows) = Self.rows()
        let fine = Self.merger(series, rows)
        let byHost = Self.merger(
            series.mapValues {
                EndpointMerger.Series(method: "", endpoint: "*", status: $0.status, source: $0.source, group: $0.group)
            },
            rows)
        let byEndpoint = Self.merger(
            series.mapValues {
                EndpointMerger.Series(method: $0.method, endpoint: $0.endpoint, status: $0.status, source: $0.source)
            },
            rows)
        let regroupedByHost = fine.regrouped { host, _, _ in (host, "", "*") }.statsByGroup()
        #expect(regroupedByHost.count == 3)
        #expect(
            regroupedByHost.mapValues { $0.map(Figures.init) }
                == byHost.statsByGroup().mapValues { $0.map(Figures.init) })
        let regroupedByEndpoint = fine.regrouped { _, method, endpoint in ("", method, endpoint) }.stats()
        #expect(regroupedByEndpoint.count == 6)
        #expect(regroupedByEndpoint.map(Figures.init) == byEndpoint.stats().map(Figures.init))
        #expect(regroupedByEndpoint.contains { $0.sources == ["logs", "statsd"] })
    }
}
