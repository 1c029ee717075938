import Foundation
import MonCore
import MonQueryKit
import Testing

/// The API page's P95 heatmap against stored requests over a day: the unit tests draw it from
/// figures given to it; this plants a day of request histograms (one slow hour, one hour with
/// no request) and reads the cells the daemon draws from the database.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct HeatmapStoredTests {
    @Test("24 h: one column per hour, each cell the P95 of that hour's stored requests, the empty hour said so")
    func hourlyCellsFromStoredRequests() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let hour: Int64 = 3_600_000
        let currentHour = now / hour * hour
        let agent = AgentIdentity(agentID: "heat", host: "heat-1", bootID: "b")
        // The 23 whole hours before the current one: 50 ms requests, 2 s in the fifth hour
        // back, none in the seventh. Each hour's requests sit in its middle.
        var seq: UInt64 = 0
        for back in 1...23 where back != 7 {
            var histogram = Histogram()
            for _ in 0..<100 { _ = histogram.record(back == 5 ? 2.0 : 0.05) }
            seq += 1
            let ts = currentHour - Int64(back) * hour + 30 * 60_000
            let sample = HistogramSample(
                MetricNames.requestDuration, ["endpoint": "/v1/heat", "method": "GET", "status": "200"],
                timestampMs: ts, histogram: histogram)
            let outcome = try await writer.store(
                Batch(seq: seq, createdMs: ts, samples: [], histograms: [sample]), from: agent, nowMs: now)
            #expect(outcome == .stored(samples: 0, rejected: 0), "histograms are not counted as samples")
        }
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the daemon's HTTP API") {
            try? await daemon.get("/health").status == 200 ? true : nil
        }
        let url = "http://127.0.0.1:\(daemon.httpPort)/ui/monitoring/api?period=24h&fragment=chart-heatmap"
        let (headers, body) = try await offPool { try curl(["--max-time", "60", url]) }
        #expect(headers[":status"] == "200")
        let html = String(decoding: body, as: UTF8.self)

        // Each cell's tooltip: "GET /v1/heat · <day hour> UTC · P95 <figure>".
        var cells: [String: String] = [:]
        var order: [String] = []
        for match in html.matches(of: /<title>GET \/v1\/heat · ([^<]*?) UTC · P95 ([^<]*)<\/title>/) {
            cells[String(match.1)] = String(match.2)
            order.append(String(match.1))
        }
        // The day back from now starts inside the hour 24 h ago: 25 hourly columns, oldest first.
        let expected = (0...24).reversed().map {
            DashboardFormat.clock(ms: currentHour - Int64($0) * hour, withDay: true)
        }
        #expect(order == expected, "\(order)")
        func milliseconds(_ figure: String?) -> Double? {
            guard let figure else { return nil }
            if figure.hasSuffix(" s") { return Double(figure.dropLast(2)).map { $0 * 1000 } }
            return figure.hasSuffix(" ms") ? Double(figure.dropLast(3)) : nil
        }
        for back in 1...23 {
            let key = DashboardFormat.clock(ms: currentHour - Int64(back) * hour, withDay: true)
            switch back {
            case 7: #expect(cells[key] == "no requests", "\(key): \(cells[key] ?? "no cell")")
            case 5:
                let value = try #require(milliseconds(cells[key]), "\(key): \(cells[key] ?? "no cell")")
                #expect((1_900...2_100).contains(value), "\(key): \(cells[key] ?? "")")
            default:
                let value = try #require(milliseconds(cells[key]), "\(key): \(cells[key] ?? "no cell")")
                #expect((45...55).contains(value), "\(key): \(cells[key] ?? "")")
            }
        }
        // The slow hour is drawn in a slower band than the others.
        let slowBand = "heat-\(Heatmap.band(2_000))"
        #expect(slowBand != "heat-\(Heatmap.band(50))" && html.contains("class=\"heat-cell \(slowBand)\""))
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }
}
