import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// `monquery report`: a PDF over a planted day (the previous day for comparison), read back
/// with poppler's `pdftotext` and rendered with `pdftoppm`.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct ReportTests {
    static let searchEndpoint = "/v1/search/hybrid"

    /// Two days of one host, every 10 minutes: `GET /v1/search/hybrid` at ~100 ms the previous
    /// day and ~900 ms this one, `GET /v1/memories/{id}` at ~20 ms on both, CPU and memory.
    /// Two alerts this day: one fired and resolved 40 minutes later, one still firing.
    static func plantDay(_ daemon: Daemon, host: String, nowMs now: Int64) async throws {
        let writer = try await daemon.migratedWriter(nowMs: now, daysBack: 3)
        let agent = AgentIdentity(agentID: "report-seed", host: host, bootID: "seed")
        let slots = 2 * 24 * 6
        for slot in 0..<slots {
            let ts = now - Int64(slots - slot) * 600_000 + 300_000
            let today = ts > now - 86_400_000
            var histograms: [HistogramSample] = []
            for (endpoint, median) in [(searchEndpoint, today ? 0.9 : 0.1), ("/v1/memories/{id}", 0.02)] {
                var histogram = Histogram()
                // 40 requests spread ±10 % around the median.
                for step in 0..<40 { _ = histogram.record(median * (0.9 + 0.2 * Double(step) / 39)) }
                histograms.append(
                    HistogramSample(
                        MetricNames.requestDuration, ["endpoint": endpoint, "method": "GET", "status": "200"],
                        timestampMs: ts, histogram: histogram))
            }
            let samples = [
                Sample(
                    "mon_host_cpu_usage_ratio", ["cpu": "all"], value: 0.3 + 0.05 * sin(Double(slot) / 7),
                    timestampMs: ts),
                Sample("mon_host_memory_used_ratio", value: 0.5, timestampMs: ts),
            ]
            let batch = Batch(seq: UInt64(slot + 1), createdMs: ts, samples: samples, histograms: histograms)
            _ = try await writer.store(batch, from: agent, nowMs: now)
        }
        let fired = now - 10 * 3_600_000
        try daemon.execute(
            """
            INSERT INTO alert_events (ts, rule, host, severity, state, value, threshold, summary, hint) VALUES
              (to_timestamp(\(fired) / 1000.0), 'APILatencyP95High', '\(host)', 'critical', 'firing', 0.9, 0.5,
               'API P95 900 ms above 500 ms', 'look at the slowest endpoints'),
              (to_timestamp(\(fired + 2_400_000) / 1000.0), 'APILatencyP95High', '\(host)', 'critical', 'resolved',
               0.1, 0.5, 'API P95 back under 500 ms', ''),
              (to_timestamp(\(now - 3_600_000) / 1000.0), 'HostMemoryHigh', '\(host)', 'warning', 'firing', 0.93, 0.9,
               'memory 93 % above 90 %', '')
            """)
    }

    static func tool(_ name: String) throws -> String {
        let path = try #require(
            ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "\(name) (poppler-utils) is not installed")
        return path
    }

    @Test("a planted day: pdftotext finds the regression's endpoint and figures and both alerts; page 1 renders")
    func plantedDay() async throws {
        let daemon = try Daemon.make()
        let host = "report-1"
        let now = WallClock.nowMs()
        try await Self.plantDay(daemon, host: host, nowMs: now)
        let directory = try TestEnvironment.makeDirectory("report")
        let pdf = "\(directory)/report.pdf"
        let binary = try #require(TestEnvironment.binDirectory) + "/monquery"
        let (status, output) = try await runProgram(
            binary, ["report", "--period", "24h", "--out", pdf],
            environment: ["MONQUERY_DATABASE_URL": daemon.databaseURL, "PATH": "/usr/bin:/bin"])
        #expect(status == 0, "monquery report: \(output)")
        #expect(output.contains("wrote \(pdf)"))
        #expect(FileManager.default.fileExists(atPath: pdf))

        let (textStatus, text) = try await runProgram(try Self.tool("pdftotext"), ["-layout", pdf, "-"])
        #expect(textStatus == 0, "pdftotext: \(text)")
        #expect(text.contains("MnemoLite monitoring report"))
        #expect(text.contains("Host: all hosts"))
        // The regression's row: the endpoint, ~100 ms before, ~900 ms after.
        let row = try #require(
            text.split(separator: "\n").first { $0.contains("Endpoint P95") && $0.contains(Self.searchEndpoint) },
            "no regression row for \(Self.searchEndpoint) in:\n\(text)")
        let figures = Self.milliseconds(in: String(row))
        #expect(figures.count == 2, "before and after in '\(row)'")
        if figures.count == 2 {
            #expect((80...130).contains(figures[0]), "before in '\(row)'")
            #expect((800...1000).contains(figures[1]), "after in '\(row)'")
        }
        #expect(
            !text.split(separator: "\n").contains { $0.contains("Endpoint P95") && $0.contains("/v1/memories") },
            "the steady endpoint is no regression")
        // Both alerts, the resolved one with its 40 minutes.
        let latency = try #require(text.split(separator: "\n").first { $0.contains("APILatencyP95High") })
        #expect(latency.contains("40 min") && latency.contains("critical"))
        let memory = try #require(text.split(separator: "\n").first { $0.contains("HostMemoryHigh") })
        #expect(memory.contains("still firing"))

        // Page 1 as a PNG, kept with the test's work and under .build/artifacts.
        let artifacts = "\(TestEnvironment.environment["MON_TEST_WORK_DIR"] ?? directory)/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let stem = "\(artifacts)/report-page"
        let (pngStatus, pngOutput) = try await runProgram(
            try Self.tool("pdftoppm"), ["-png", "-r", "60", "-f", "1", "-l", "1", pdf, stem])
        #expect(pngStatus == 0, "pdftoppm: \(pngOutput)")
        let png = try #require(
            try FileManager.default.contentsOfDirectory(atPath: artifacts).first {
                $0.hasPrefix("report-page") && $0.hasSuffix(".png")
            }, "no PNG of page 1 in \(artifacts)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(artifacts)/\(png)"))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 1000)
        let kept = ".build/artifacts"
        try FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: "\(kept)/report-page-1.png")
        try FileManager.default.copyItem(atPath: "\(artifacts)/\(png)", toPath: "\(kept)/report-page-1.png")
        try? FileManager.default.removeItem(atPath: "\(kept)/report.txt")
        try text.write(toFile: "\(kept)/report.txt", atomically: true, encoding: .utf8)
        print("report page 1: \(artifacts)/\(png) (copied to \(kept)/report-page-1.png)")
    }

    @Test("bad input is named: the period, the output path, a device, an unreachable database without its password")
    func badInput() async throws {
        let binary = try #require(TestEnvironment.binDirectory) + "/monquery"
        let directory = try TestEnvironment.makeDirectory("report")
        let database = try #require(TestEnvironment.databaseURL)
        func run(_ arguments: [String], url: String = database) async throws -> (Int32, String) {
            try await runProgram(
                binary, ["report"] + arguments, environment: ["MONQUERY_DATABASE_URL": url, "PATH": "/usr/bin:/bin"])
        }
        let period = try await run(["--period", "3d", "--out", "\(directory)/a.pdf"])
        #expect(period.0 != 0 && period.1.contains("'3d'") && period.1.contains("24h, 7d"), "\(period.1)")
        let path = try await run(["--period", "24h", "--out", "\(directory)/missing/a.pdf"])
        #expect(path.0 != 0 && path.1.contains("\(directory)/missing/a.pdf"), "\(path.1)")
        // Not a regular file (here a pipe; a device is refused the same way): the atomic write
        // renamed its temp file over it. Run as root, `--out /dev/full` replaced this machine's
        // /dev/full with a PDF and said "wrote" (the hostile pass of stop 39).
        let pipe = "\(directory)/pipe.pdf"
        #expect(mkfifo(pipe, 0o644) == 0)
        let device = try await run(["--period", "24h", "--out", pipe])
        #expect(device.0 != 0 && device.1.contains("'\(pipe)': not a regular file"), "\(device.1)")
        var info = stat()
        #expect(stat(pipe, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO, "the pipe is still a pipe")
        let secret = "s3cret-report-pw"
        let unreachable = try await run(
            ["--period", "7d", "--out", "\(directory)/b.pdf"], url: "postgresql://mon:\(secret)@127.0.0.1:1/mon")
        #expect(unreachable.0 != 0 && unreachable.1.contains("cannot"), "\(unreachable.1)")
        #expect(!unreachable.1.contains(secret), "\(unreachable.1)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/b.pdf"))
    }

    /// The figures followed by ` ms` (or ` s`, as milliseconds) in a line, in order.
    static func milliseconds(in line: String) -> [Double] {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        var values: [Double] = []
        for (index, word) in words.enumerated() where index + 1 < words.count {
            guard let value = Double(word) else { continue }
            if words[index + 1] == "ms" { values.append(value) }
            if words[index + 1] == "s" { values.append(value * 1000) }
        }
        return values
    }
}
