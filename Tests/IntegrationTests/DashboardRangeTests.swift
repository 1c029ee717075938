import Foundation
import MonCore
import MonQueryKit
import Testing

/// The dashboard's time-range picker in a real browser: headless Chromium, driven over its
/// DevTools pipe (Tests/Fixtures/dashboard-picker.py), chooses 6 h in the period selector and
/// then a custom range; the page URL carries each choice (shareable) and the panels follow it.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct DashboardRangeTests {
    @Test("choosing 6 h, then a custom range 3 h to 2 h ago, changes the URL, the note and the latency panel's data")
    func pickerInChromium() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        // API requests over the last hour only: the custom range before it has none.
        try await DashboardTests.seedHistory(daemon, host: "range-1")
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the daemon's HTTP API") {
            try? await daemon.get("/health").status == 200 ? true : nil
        }
        let chromium = try await ChromiumRun.make(daemon: daemon, token: tokens.admin)
        defer { chromium.stop() }

        let now = WallClock.nowMs()
        // As a datetime-local input holds them (UTC, the page's time zone), whole minutes.
        func local(_ ms: Int64) -> String { String(Timestamp.iso8601(ms: ms - ms % 60_000).prefix(19)) }
        let customFrom = local(now - 3 * 3_600_000)
        let customTo = local(now - 2 * 3_600_000)
        let login = "http://127.0.0.1:\(chromium.helperPort)/\(chromium.pageName("/ui/monitoring/advanced?period=1h"))"
        let (status, output) = try await runProgram(
            "/usr/bin/timeout",
            [
                "--kill-after=10", "120", "/usr/bin/python3", "Tests/Fixtures/dashboard-picker.py",
                DashboardTests.chromium, login, "\(chromium.directory)/picker-profile", customFrom, customTo,
            ])
        #expect(status == 0, "\(output.suffix(2000))")
        let jsonLine = try #require(output.split(separator: "\n").last { $0.hasPrefix("[") }, "\(output.suffix(2000))")
        let steps = try #require(try JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) as? [[String: String]])
        try #require(steps.count == 3)
        let base = "http://127.0.0.1:\(daemon.httpPort)/ui/monitoring/advanced"

        // Landed on the last hour: the seeded endpoints are drawn.
        #expect(steps[0]["url"] == "\(base)?period=1h" && steps[0]["select"] == "1h")
        #expect(steps[0]["latency"]?.contains("/v1/search/hybrid") == true, "\(steps[0])")
        // The selector: its change submits the form; the URL says 6h.
        #expect(steps[1]["url"] == "\(base)?period=6h" && steps[1]["select"] == "6h", "\(steps[1])")
        #expect(steps[1]["note"] == "last 6h")
        #expect(steps[1]["latency"]?.contains("/v1/search/hybrid") == true)
        // The custom range: from/to in the URL, the note names the range, no requests in it.
        let url = steps[2]["url"] ?? ""
        #expect(url.hasPrefix("\(base)?from=") && url.contains("&to="), "\(url)")
        let shownFrom = customFrom.replacingOccurrences(of: "T", with: " ")
        #expect(steps[2]["note"]?.hasPrefix(shownFrom) == true, "\(steps[2])")
        #expect(steps[2]["select"] == "", "the selector says Custom range")
        #expect(steps[2]["latency"]?.contains("No API requests in this period") == true, "\(steps[2])")
        #expect(steps[2]["latency"]?.contains("/v1/search/hybrid") == false)

        // The shared URL opens the same range.
        let shared = try await daemon.get("/api/monitoring/metrics?type=api&from=\(customFrom)Z&to=\(customTo)Z")
        #expect(shared.status == 200)
        #expect(!monquery.log.contains("request failed"), "the daemon logged a failed request")
    }
}
