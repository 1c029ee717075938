import Foundation
import Logging
import MonAgentKit
import MonCore
import MonQueryKit

#if canImport(Glibc)
    import Glibc
#endif

/// `mon-bench ingest`: synthetic agents pushing batches into a running monquery as fast as
/// its ACKs allow, over the real protocol (HELLO → WELCOME, then BATCH → ACK, one batch in
/// flight per agent, as Agent/Shipper.swift does).
///
/// Each agent owns `--batch-samples` distinct gauge series (host `ingest-<k>`); each batch
/// carries one sample of every series, stamped with a timestamp that moves forward by 1 ms
/// per batch from the start time (so rows are always new and fall in today's partition).
/// The first `--warmup-batches` of each agent (which create its series) are not timed.
enum IngestCommand {
    struct AgentReport: Codable {
        var agent: String
        var batches: Int
        var samples: Int
        var ackMs: Stats
    }

    struct Report: Codable {
        var command = "ingest"
        var agents: Int
        var batchSamples: Int
        var durationS: Double
        var warmupBatches: Int
        var batches: Int
        var samples: Int
        var samplesPerSecond: Double
        var ackMs: Stats
        var perAgent: [AgentReport]
        var errors: [String]
    }

    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var reports: [AgentReport] = []
        var ackMs: [Double] = []
        var errors: [String] = []
        var timedStart: ContinuousClock.Instant? = nil
        var timedEnd: ContinuousClock.Instant? = nil
    }

    static func run(_ options: Options) throws {
        guard let socketPath = options.string("socket") else { throw UsageError("ingest needs --socket PATH") }
        let agents = try options.int("agents", default: 4)
        let batchSamples = try options.int("batch-samples", default: 5000)
        let durationMs = try options.int("duration-ms", default: 60_000)
        let warmupBatches = try options.int("warmup-batches", default: 1)
        let prefix = options.string("host-prefix") ?? "ingest"
        try options.finish()

        let clock = ContinuousClock()
        let shared = Shared()
        let bootID = UUID().uuidString.lowercased()
        let startMs = WallClock.nowMs()
        let ready = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        // Deadline, set when every agent has finished its warm-up batches.
        let deadlineBox = Shared()
        for k in 0..<agents {
            ready.enter()
            finished.enter()
            let thread = Thread {
                defer { finished.leave() }
                let host = "\(prefix)-\(k + 1)"
                var readyLeft = true
                func markReady() {
                    if readyLeft {
                        readyLeft = false
                        ready.leave()
                    }
                }
                do {
                    let client = try IngestClient(socketPath: socketPath, timeoutSeconds: 300)
                    try client.send(.hello(.init(agentID: "mon-bench-\(host)", host: host, bootID: bootID)))
                    guard case .welcome(let welcome) = try client.receive() else {
                        throw UsageError("expected WELCOME")
                    }
                    var seq = welcome.lastAckedSeq
                    let labels: [Labels] = (0..<batchSamples).map {
                        Labels(["slot": String($0), "group": "g\($0 % 16)"])
                    }
                    var batchIndex: Int64 = 0
                    func sendBatch() throws -> Double {
                        seq += 1
                        batchIndex += 1
                        let ts = startMs + batchIndex
                        var samples: [Sample] = []
                        samples.reserveCapacity(batchSamples)
                        for (i, label) in labels.enumerated() {
                            samples.append(
                                Sample(
                                    "mon_bench_ingest_value", label,
                                    value: Double((Int64(i) &* 7919 &+ batchIndex) % 10_000) / 100, timestampMs: ts))
                        }
                        let batch = Batch(seq: seq, createdMs: WallClock.nowMs(), samples: samples)
                        let t0 = clock.now
                        try client.send(.batch(batch))
                        guard case .ack(let acked) = try client.receive(), acked == seq else {
                            throw UsageError("expected ACK \(seq)")
                        }
                        return t0.duration(to: clock.now).milliseconds
                    }
                    for _ in 0..<warmupBatches { _ = try sendBatch() }
                    markReady()
                    go.wait()
                    go.signal()
                    let deadline = deadlineBox.lock.withLock { deadlineBox.timedEnd! }
                    var acks: [Double] = []
                    while clock.now < deadline {
                        acks.append(try sendBatch())
                    }
                    let report = AgentReport(
                        agent: host, batches: acks.count, samples: acks.count * batchSamples, ackMs: Stats(acks))
                    shared.lock.withLock {
                        shared.reports.append(report)
                        shared.ackMs.append(contentsOf: acks)
                    }
                } catch {
                    markReady()
                    shared.lock.withLock { shared.errors.append("\(host): \(error)") }
                }
            }
            thread.start()
        }
        ready.wait()
        let start = clock.now
        deadlineBox.lock.withLock { deadlineBox.timedEnd = start + .milliseconds(durationMs) }
        go.signal()
        finished.wait()
        // The last batch of each agent ends after the deadline: the window is until the last ACK.
        let elapsed = start.duration(to: clock.now).milliseconds / 1000
        let samples = shared.reports.reduce(0) { $0 + $1.samples }
        let batches = shared.reports.reduce(0) { $0 + $1.batches }
        try printJSON(
            Report(
                agents: agents, batchSamples: batchSamples, durationS: elapsed, warmupBatches: warmupBatches,
                batches: batches, samples: samples, samplesPerSecond: Double(samples) / elapsed,
                ackMs: Stats(shared.ackMs), perAgent: shared.reports.sorted { $0.agent < $1.agent },
                errors: shared.errors))
        if !shared.errors.isEmpty { exit(1) }
    }
}

/// `mon-bench send-one`: one batch with one gauge sample stamped now, from agent `--host`;
/// prints the timestamp and the time to the ACK (for the visibility measurement).
enum SendOneCommand {
    struct Report: Codable {
        var command = "send-one"
        var host: String
        var timestampMs: Int64
        var ackMs: Double
        var value: Double
    }

    static func run(_ options: Options) throws {
        guard let socketPath = options.string("socket") else { throw UsageError("send-one needs --socket PATH") }
        guard let host = options.string("host") else { throw UsageError("send-one needs --host NAME") }
        guard let valueText = options.string("value"), let value = Double(valueText) else {
            throw UsageError("send-one needs --value X")
        }
        let name = options.string("name") ?? "mon_host_cpu_usage_ratio"
        let labelText = options.string("labels") ?? "cpu=all"
        let bootID = options.string("boot-id") ?? UUID().uuidString.lowercased()
        try options.finish()
        var labels: [String: String] = [:]
        for pair in labelText.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { labels[parts[0]] = parts[1] }
        }
        let clock = ContinuousClock()
        let client = try IngestClient(socketPath: socketPath, timeoutSeconds: 60)
        try client.send(.hello(.init(agentID: "mon-bench-\(host)", host: host, bootID: bootID)))
        guard case .welcome(let welcome) = try client.receive() else { throw UsageError("expected WELCOME") }
        let seq = welcome.lastAckedSeq + 1
        let ts = WallClock.nowMs()
        let batch = Batch(
            seq: seq, createdMs: ts, samples: [Sample(name, Labels(labels), value: value, timestampMs: ts)])
        let t0 = clock.now
        try client.send(.batch(batch))
        guard case .ack(let acked) = try client.receive(), acked == seq else { throw UsageError("expected ACK") }
        try printJSON(
            Report(host: host, timestampMs: ts, ackMs: t0.duration(to: clock.now).milliseconds, value: value))
    }
}

/// `mon-bench insert`: the naive path — one single-row INSERT (autocommit) per sample,
/// with bind parameters, into `--table (ts, series_id, value)` for `--duration-ms`.
enum InsertCommand {
    struct Report: Codable {
        var command = "insert"
        var table: String
        var rows: Int
        var durationS: Double
        var rowsPerSecond: Double
    }

    static func run(_ options: Options) throws {
        guard let url = options.string("database-url") else { throw UsageError("insert needs --database-url") }
        let table = options.string("table") ?? "metrics"
        let durationMs = try options.int("duration-ms", default: 10_000)
        let series = try options.int("series", default: 5000)
        try options.finish()
        let connection = try PostgresConnection(url: url, applicationName: "mon-bench-insert")
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(durationMs)
        let baseMs = WallClock.nowMs()
        var rows = 0
        let sql =
            "INSERT INTO \(table) (ts, series_id, value) VALUES (to_timestamp($1::double precision / 1000), $2, $3)"
        while clock.now < deadline {
            for _ in 0..<100 {
                let ts = baseMs + Int64(rows / series)
                try connection.query(sql, [String(ts), String(1 + rows % series), String(Double(rows % 10_000) / 100)])
                rows += 1
            }
        }
        let elapsed = start.duration(to: clock.now).milliseconds / 1000
        try printJSON(Report(table: table, rows: rows, durationS: elapsed, rowsPerSecond: Double(rows) / elapsed))
    }
}

/// `mon-bench prepare-db`: the schema (MonCore's migrations) and the day partitions from
/// `--days-back` days ago to tomorrow, through IngestWriter, as monquery does.
enum PrepareDBCommand {
    static func run(_ options: Options) throws {
        guard let url = options.string("database-url") else { throw UsageError("prepare-db needs --database-url") }
        let daysBack = try options.int("days-back", default: 8)
        try options.finish()
        let result: String = Blocking.run {
            do {
                let writer = IngestWriter(databaseURL: url, logger: Logger(label: "mon-bench"))
                _ = try await writer.migrate()
                let today = DayPartition(timestampMs: WallClock.nowMs())
                try await writer.ensurePartitions((-daysBack...2).map { today.adding(days: Int64($0)) })
                return ""
            } catch { return "\(error)" }
        }
        guard result.isEmpty else { throw UsageError("prepare-db: \(result)") }
        print("{\"command\": \"prepare-db\", \"days_back\": \(daysBack)}")
    }
}

/// `mon-bench rollup`: RollupWriter.catchUp (what monquery's rollup service does) until the
/// rollups reach now; prints the passes and the time taken.
enum RollupCommand {
    struct Report: Codable {
        var command = "rollup"
        var passes: Int
        var minutes: Int64
        var seconds: Double
        var watermarkMs: Int64?
    }

    static func run(_ options: Options) throws {
        guard let url = options.string("database-url") else { throw UsageError("rollup needs --database-url") }
        let chunkMinutes = try options.int("chunk-minutes", default: 60)
        try options.finish()
        let clock = ContinuousClock()
        let start = clock.now
        let result: Result<[RollupPass], any Error> = Blocking.run {
            do {
                let writer = RollupWriter(databaseURL: url, chunkMinutes: chunkMinutes)
                return .success(try await writer.catchUp(nowMs: WallClock.nowMs()))
            } catch { return .failure(error) }
        }
        let passes = try result.get()
        try printJSON(
            Report(
                passes: passes.count, minutes: passes.reduce(0) { $0 + $1.minutes },
                seconds: start.duration(to: clock.now).milliseconds / 1000, watermarkMs: passes.last?.watermarkMs))
    }
}
