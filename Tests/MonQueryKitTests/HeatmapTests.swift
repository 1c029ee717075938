import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The API page's P95 heatmap, the per-type hit-rate bars and the endpoint table's orders
/// (issue 24).
struct HeatmapTests {
    @Test("bands: each bound belongs to the band above it; 1 s and more is the alert's band")
    func bands() {
        #expect(Heatmap.band(0) == 0 && Heatmap.band(49.9) == 0 && Heatmap.band(50) == 1)
        #expect(Heatmap.band(999.9) == 4 && Heatmap.band(1000) == 5 && Heatmap.band(60_000) == 5)
    }

    @Test(
        "one cell per endpoint and bucket, each with its figure in a tooltip; an empty bucket is no colour; labels escaped"
    )
    func cells() {
        let hour: Int64 = 3_600_000
        let map = Heatmap(
            title: "P95", columns: [0, hour, 2 * hour], stepSeconds: 3600,
            rows: [
                .init(label: "GET /v1/search", cells: [12, nil, 1500]),
                .init(label: "GET /<script>", cells: [60, 120, 300]),
            ])
        let svg = map.render().text
        // Six cells and the six legend swatches.
        #expect(svg.components(separatedBy: "<rect class=\"heat-cell").count - 1 == 12)
        #expect(svg.contains("class=\"heat-cell heat-0\"") && svg.contains("class=\"heat-cell heat-5\""))
        #expect(svg.contains("class=\"heat-cell heat-none\""))
        #expect(svg.contains("GET /v1/search · 01 01:00 UTC · P95 no requests"))
        #expect(svg.contains("GET /v1/search · 01 02:00 UTC · P95 1.50 s"))
        #expect(svg.contains("GET /&lt;script&gt;") && !svg.contains("<script>"))
        #expect(svg.contains("≥ 1.00 s") && svg.contains("&lt; 50 ms"))
        #expect(Heatmap(title: "P95", columns: [], stepSeconds: 3600, rows: []).render().text.contains("No data"))
    }

    @Test("bars on a fixed scale: 45 % is half of 90 %'s length on a 0–100 scale; the state colours and names the bar")
    func percentBars() throws {
        let chart = BarChart(
            title: "Hit rate",
            bars: [
                .init(label: "search_results", value: 90, text: "90 %", status: .ok),
                .init(label: "embeddings", value: 45, text: "45 %", status: .critical),
            ], maximum: 100)
        let svg = chart.render().text
        let widths = svg.matches(of: /class="bar[^"]*" x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)"/).compactMap {
            Double($0.output.1)
        }
        #expect(widths.count == 2)
        let (first, second) = (try #require(widths.first), try #require(widths.last))
        #expect(abs(first / 2 - second) < 0.01, "\(widths)")
        // The full span (640 - 200 - 80 - 8) is 100 %.
        #expect(abs(first - 352 * 0.9) < 0.01)
        #expect(svg.contains("class=\"bar st-ok\"") && svg.contains("class=\"bar st-crit\""))
        #expect(svg.contains("45 % ■ Critical"))
    }

    @Test("endpoint orders: p95 by default, errors then requests, requests; an unknown order is named")
    func endpointSort() throws {
        func endpoint(_ name: String, requests: Int64, errors: Int64, seconds: Double) -> EndpointStats {
            var stats = EndpointStats(method: "GET", endpoint: name)
            stats.byStatus = ["200": requests - errors, "500": errors]
            _ = stats.histogram.record(seconds)
            return stats
        }
        let list = [
            endpoint("/a", requests: 10, errors: 0, seconds: 0.5),
            endpoint("/b", requests: 50, errors: 2, seconds: 0.01),
            endpoint("/c", requests: 20, errors: 2, seconds: 0.1),
        ]
        #expect(try EndpointSort(parameter: nil) == .p95)
        #expect(EndpointSort.p95.sorted(list).map(\.endpoint) == ["/a", "/c", "/b"])
        #expect(EndpointSort.errors.sorted(list).map(\.endpoint) == ["/b", "/c", "/a"])
        #expect(EndpointSort.rate.sorted(list).map(\.endpoint) == ["/b", "/c", "/a"])
        #expect(throws: ParameterError("sort", "'slow' is not one of p95, errors, rate")) {
            try EndpointSort(parameter: "slow")
        }
    }
}
