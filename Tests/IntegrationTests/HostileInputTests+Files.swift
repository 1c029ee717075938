import Foundation
import Logging
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Files and the spool (issue 18): what a compromised application can plant in its log
/// directory never reaches the database, and a spool far larger than memory is recovered
/// and replayed by an agent whose memory stays small.
extension HostileInputTests {
    @Test(
        "symlinks, a symlinked directory, a hard link and a FIFO in the log directory: the secret never reaches the database; each refusal is logged once and counted"
    )
    func plantedLogFiles() async throws {
        let daemon = try Daemon.make()
        let logs = daemon.directory + "/logs"
        let credentials = daemon.directory + "/credentials"
        for directory in [logs, credentials] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // A secret no redaction pattern masks: only not reading it keeps it out.
        let secret = "zebra-\(UInt64.random(in: 0...UInt64.max))"
        let secretLines = "{\"event\": \"\(secret)\", \"level\": \"error\"}\n\(secret)\n"
        for name in ["pg-password", "app.log", "token"] {
            try Data(secretLines.utf8).write(to: URL(fileURLWithPath: "\(credentials)/\(name)"))
        }
        #expect(symlink("\(credentials)/pg-password", "\(logs)/evil.log") == 0)
        #expect(symlink(credentials, "\(logs)/svc") == 0)
        #expect(link("\(credentials)/token", "\(logs)/hard.log") == 0)
        #expect(mkfifo("\(logs)/fifo.log", 0o644) == 0)
        try AppSignalsTests.append(AppSignalsTests.line(1, event: "first line"), to: "\(logs)/app.log")

        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.5,
            extra: [
                "MONAGENT_LOG_PATHS": "\(logs)/*.log,\(logs)/*/app.log", "MONAGENT_LOGS_START_AT": "beginning",
                "MONAGENT_LOGS_POLL_INTERVAL_MS": "50", "MONAGENT_COLLECTORS": "cpu",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("the regular log file stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs WHERE event = 'first line'") == 1 ? true : nil
        }
        // The followed file is swapped for a symlink to the secret (rename over it).
        #expect(symlink("\(credentials)/pg-password", "\(logs)/swap") == 0)
        #expect(rename("\(logs)/swap", "\(logs)/app.log") == 0)
        try AppSignalsTests.append(AppSignalsTests.line(2, event: "marker line"), to: "\(logs)/later.log")
        _ = try await eventually("a line written after the swap stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs WHERE event = 'marker line'") == 1 ? true : nil
        }
        #expect(try daemon.scalar("SELECT count(*) FROM logs l WHERE strpos(l::text, $1) > 0", [secret]) == 0)
        let expected = ["hard_link": 1.0, "not_regular": 1, "symlink": 2, "symlinked_directory": 1]
        let counted = try await eventually("every refusal counted by reason") { () -> [String: Double]? in
            let counts = try Self.refusals(daemon)
            return counts == expected ? counts : nil
        }
        #expect(counted == expected)
        #expect(try daemon.scalar("SELECT count(*) FROM logs") == 2, "only the two regular lines")
        #expect(!monagent.log.contains(secret))
        for name in ["evil.log", "app.log", "svc/app.log", "hard.log", "fifo.log"] {
            let refusals = monagent.log.components(separatedBy: "\n").filter {
                $0.contains("log file not followed") && $0.contains("path=\(logs)/\(name) ")
            }
            #expect(refusals.count == 1, "\(name): logged once, not at every poll")
        }
        #expect(monagent.isRunning)
    }

    /// The latest `mon_agent_log_files_refused_total` by reason.
    static func refusals(_ daemon: Daemon) throws -> [String: Double] {
        let connection = try PostgresConnection(url: daemon.databaseURL, applicationName: "mon-tests")
        let rows = try connection.query(
            """
            SELECT DISTINCT ON (s.labels->>'reason') s.labels->>'reason', m.value
            FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = 'mon_agent_log_files_refused_total'
            ORDER BY s.labels->>'reason', m.ts DESC
            """)
        var counts: [String: Double] = [:]
        for row in 0..<rows.rowCount {
            counts[rows.string(row, 0) ?? ""] = rows.double(row, 1)
        }
        return counts
    }

    /// Peak resident memory of a process (`VmHWM`), in bytes.
    static func peakRSS(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let kilobytes = try #require(Int(line.split(separator: " ").dropFirst().first ?? ""))
        return kilobytes * 1024
    }

    @Test("a 96 MiB spool is recovered and replayed by an agent whose peak RSS stays under half of it")
    func largeSpoolBoundedMemory() async throws {
        let daemon = try Daemon.make()
        let directory = "\(daemon.directory)/spool-it-agent"
        let batches = 1100
        let base = WallClock.nowMs() - Int64(batches) * 40 - 60_000
        // Written the way the agent writes it (fsync off: it only has to be there).
        let started = ContinuousClock.now
        let spoolBytes = try await Self.fillSpool(directory, batches: batches, base: base)
        print("spool of \(spoolBytes >> 20) MiB written in \(ContinuousClock.now - started)")
        #expect(spoolBytes >= 96 << 20)
        let monagent = try daemon.startAgent(
            interval: 0.5,
            extra: ["MONAGENT_COLLECTORS": "cpu", "MONAGENT_SPOOL_MAX_BYTES": "\(1 << 30)"])
        defer { monagent.stop() }
        _ = try await eventually("the spool recovered") { () -> Bool? in
            monagent.log.contains("spool recovered") && monagent.log.contains("batches=\(batches)") ? true : nil
        }
        print("recovered after \(ContinuousClock.now - started)")
        let afterRecovery = try Self.peakRSS(monagent.pid)
        print("monagent peak RSS after recovering \(spoolBytes >> 20) MiB of spool: \(afterRecovery >> 20) MiB")
        #expect(afterRecovery < spoolBytes / 2)

        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the first 100 spooled batches replayed in order", seconds: 120) { () -> Bool? in
            let stored = try daemon.scalar(
                """
                SELECT count(DISTINCT m.value) FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE s.name = 'it_spool_fill' AND m.value < 100
                """)
            return stored == 100 ? true : nil
        }
        print("replayed 100 batches after \(ContinuousClock.now - started)")
        let whileReplaying = try Self.peakRSS(monagent.pid)
        print("monagent peak RSS while replaying: \(whileReplaying >> 20) MiB")
        #expect(whileReplaying < spoolBytes / 2)
        #expect(monagent.isRunning)
    }

    /// `batches` batches of 110 samples (50 series with long label values, so that encoding is
    /// cheap per byte) under one agent identity; the spool's size.
    static func fillSpool(_ directory: String, batches: Int, base: Int64) async throws -> Int {
        let spool = try SpoolBatchQueue(
            config: SpoolConfig(directory: directory, maxBytes: 1 << 30, fsync: false),
            logger: Logger(label: "it-spool-fill"))
        let filler = String(repeating: "x", count: 200)
        let series: [Labels] = (0..<50).map {
            ["i": "\($0)", "a": filler, "b": filler, "c": filler, "d": filler]
        }
        for index in 0..<batches {
            let samples = (0..<110).map { sample in
                Sample(
                    "it_spool_fill", series[sample % 50], value: Double(index),
                    timestampMs: base + Int64(index) * 40 + Int64(sample / 50))
            }
            await spool.enqueue(Batch(seq: 0, createdMs: WallClock.nowMs(), samples: samples))
        }
        return await spool.spoolStats?.bytes ?? 0
    }
}
