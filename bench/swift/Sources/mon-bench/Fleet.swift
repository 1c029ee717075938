import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore
import NIOPosix

/// `mon-bench fleet`: N synthetic agents against one running monquery, each shaped like a
/// monagent host (issue 21, "Hosts per daemon"): its own connection to the ingest socket,
/// HELLO → WELCOME, then every `--interval-ms` one BATCH with `--series` samples (the
/// collectors' gauges and counters, incl. the summary cards' gauges), request-duration
/// histograms for `--endpoints` endpoints, `--log-rate` log lines per second and, every
/// `--slow-every` batches, one `pg_statement` event (a slow statement) — one batch in flight
/// per agent, as Agent/Shipper.swift does: a batch due while the previous one is not yet
/// acknowledged waits in the agent's queue (its backlog).
///
/// Freshness marker: every agent's `mon_host_cpu_usage_ratio{cpu="all"}` is
/// `0.1 + 0.4 × (createdMs mod 10^8) / 10^8`, and every sample is stamped with the batch's creation time,
/// so whoever polls the API can tell which batch a value came from (bench/part_fleet.py).
///
/// The agents run on `--threads` NIO event loops (not a thread each). Ticks of agent k fall at
/// start + k × interval / N + j × interval (`--phase spread`), or all at start + j × interval
/// (`--phase aligned`: what wall-clock-aligned agents with synchronized clocks do).
/// Progress goes to stderr every `--progress-ms`; the report (JSON) to stdout.
enum FleetCommand {
    struct AgentReport: Codable {
        var host: String
        var created: Int
        var acked: Int
        var maxBacklog: Int
        var backlogAtEnd: Int
        var error: String?
    }

    struct Progress: Codable {
        var seconds: Double
        var created: Int
        var acked: Int
        var backlog: Int
        var agentsBehind: Int
        var maxBacklog: Int
    }

    struct Report: Codable {
        var command = "fleet"
        var agents: Int
        var connected: Int
        var intervalMs: Int
        var phase: String
        var seriesPerAgent: Int
        var histogramsPerBatch: Int
        var logsPerBatch: Int
        var slowEvery: Int
        var durationS: Double
        var connectS: Double
        var batchesCreated: Int
        var batchesAcked: Int
        var samplesAcked: Int
        var samplesPerSecond: Double
        var batchesPerSecond: Double
        var frameBytes: Stats
        /// From writing the BATCH to reading its ACK.
        var ackMs: Stats
        /// From the batch's creation (its tick) to its ACK: includes the wait in the agent's queue.
        var createdToAckMs: Stats
        /// Batches created and not acknowledged, per agent, at the end of the timed phase (1 =
        /// the one in flight), and the most at any tick.
        var backlogAtEnd: Stats
        var maxBacklog: Stats
        var agentsWithBacklogAtEnd: Int
        var agentsWithMaxBacklogAbove1: Int
        /// Batches still unacknowledged after the grace period.
        var undrained: Int
        var progress: [Progress]
        var errors: [String]
        var worstAgents: [AgentReport]
    }

    /// What every agent sends: the same label sets (the host is not a label: the daemon takes
    /// it from HELLO), built once and shared.
    struct Shape: Sendable {
        struct Series: Sendable {
            var name: String
            var labels: Labels
            var kind: MetricKind
            var shape: Template.ValueShape
            /// Draws a value of `shape`.
            var template: Template { Template(name: name, kind: kind, shape: shape) { _ in [:] } }
        }

        static let markerName = "mon_host_cpu_usage_ratio"
        static let markerModulus: Int64 = 100_000_000
        static let slowName = "mon_postgres_statements_slow_total"

        var series: [Series]
        var endpoints: [Labels]
        /// A few request-duration histograms (20–120 log-normal requests), picked per batch.
        var histograms: [Histogram]
        var templates: [Template]
        var logsPerBatch: Int
        var slowEvery: Int
        var intervalMs: Int

        init(series count: Int, endpoints: Int, logsPerBatch: Int, slowEvery: Int, intervalMs: Int) {
            // The summary cards' gauges (Summary.Field) and the slow-statement counter.
            let cards: [Series] = [
                .init(name: Self.markerName, labels: ["cpu": "all"], kind: .gauge, shape: .ratio),
                .init(name: "mon_host_memory_used_ratio", labels: [:], kind: .gauge, shape: .ratio),
                .init(name: "mon_host_load1", labels: [:], kind: .gauge, shape: .count),
                .init(name: "mon_redis_hit_ratio", labels: [:], kind: .gauge, shape: .ratio),
                .init(name: "mon_redis_memory_used_bytes", labels: [:], kind: .gauge, shape: .bytes),
                .init(name: "mon_redis_memory_max_bytes", labels: [:], kind: .gauge, shape: .bytes),
                .init(name: "mon_redis_memory_used_ratio", labels: [:], kind: .gauge, shape: .ratio),
                .init(name: "mon_postgres_connections_used", labels: [:], kind: .gauge, shape: .count),
                .init(name: "mon_postgres_max_connections", labels: [:], kind: .gauge, shape: .count),
                .init(name: "mon_postgres_connections_used_ratio", labels: [:], kind: .gauge, shape: .ratio),
                .init(name: "mon_postgres_cache_hit_ratio", labels: [:], kind: .gauge, shape: .ratio),
                .init(name: Self.slowName, labels: [:], kind: .counter, shape: .count),
            ]
            var series = Array(cards.prefix(count))
            let templates = SeriesSet.templates
            var index = 0
            while series.count < count {
                let template = templates[index % templates.count]
                series.append(
                    .init(
                        name: template.name, labels: Labels(template.labels(index / templates.count)),
                        kind: template.kind, shape: template.shape))
                index += 1
            }
            self.series = series
            self.templates = series.map(\.template)
            let paths = [
                "/v1/memories/search", "/v1/memories", "/v1/memories/{id}", "/v1/embeddings", "/v1/graph/neighbors",
                "/v1/sessions", "/v1/health", "/v1/auth/token", "/v1/documents", "/v1/documents/{id}/chunks",
            ]
            self.endpoints = (0..<endpoints).map { i in
                Labels([
                    "endpoint": paths[i % paths.count] + (i >= paths.count ? "/\(i / paths.count)" : ""),
                    "method": i % 3 == 1 ? "POST" : "GET", "status": "200",
                ])
            }
            var rng = SplitMix64(state: 21)
            self.histograms = (0..<16).map { _ in
                var histogram = Histogram()
                for _ in 0..<(20 + Int(rng.next() % 100)) {
                    histogram.record(min(0.04 * exp(1.0 * rng.gaussian()), 120))
                }
                return histogram
            }
            self.logsPerBatch = logsPerBatch
            self.slowEvery = slowEvery
            self.intervalMs = intervalMs
        }
    }

    /// Totals over all agents, for the progress lines.
    final class Totals: @unchecked Sendable {
        let lock = NSLock()
        var created = 0
        var acked = 0
        var errors: [String] = []
    }

    static let logEvents = [
        "request handled", "memory search", "embedding cached", "session refreshed", "cache miss",
        "document chunked", "token issued", "graph walk", "slow request", "retrying upstream",
    ]

    /// One synthetic agent. Every field is touched on its channel's event loop only.
    final class Agent: @unchecked Sendable {
        let index: Int
        let host: String
        let shape: Shape
        let loop: EventLoop
        let totals: Totals
        var channel: Channel?
        var seq: UInt64 = 0
        var rng: SplitMix64
        var batchIndex = 0
        var logOffset: Int64 = 0
        var slowTotal = 0.0
        /// Encoded batches waiting (the first is in flight when `inFlight`).
        var queue: [(seq: UInt64, createdMs: Int64, frame: ByteBuffer)] = []
        var inFlight = false
        var sentAt = NIODeadline.now()
        var created = 0
        var acked = 0
        var maxBacklog = 0
        var backlogAtEnd = 0
        var ackMs: [Double] = []
        var createdToAckMs: [Double] = []
        var frameBytes: [Double] = []
        var error: String?
        var stopped = false
        var welcomed: EventLoopPromise<Void>
        var welcomeDone = false
        /// Completed when the queue is empty (the warm-up batch).
        var drained: EventLoopPromise<Void>?

        init(index: Int, host: String, shape: Shape, loop: EventLoop, totals: Totals) {
            self.index = index
            self.host = host
            self.shape = shape
            self.loop = loop
            self.totals = totals
            self.rng = SplitMix64(state: UInt64(index) &* 7919 &+ 1)
            self.welcomed = loop.makePromise()
        }

        var backlog: Int { created - acked }

        func fail(_ message: String) {
            guard error == nil else { return }
            error = message
            totals.lock.withLock { totals.errors.append("\(host): \(message)") }
            if !welcomeDone {
                welcomeDone = true
                welcomed.fail(UsageError(message))
            }
            drained?.fail(UsageError(message))
            drained = nil
            channel?.close(promise: nil)
        }

        func received(_ message: WireMessage) {
            switch message {
            case .welcome(let welcome):
                seq = welcome.lastAckedSeq
                if !welcomeDone {
                    welcomeDone = true
                    welcomed.succeed(())
                }
            case .ack(let acked):
                guard inFlight, let head = queue.first, head.seq == acked else {
                    fail("unexpected ACK \(acked)")
                    return
                }
                let now = NIODeadline.now()
                ackMs.append(Double((now - sentAt).nanoseconds) / 1e6)
                createdToAckMs.append(Double(WallClock.nowMs() - head.createdMs))
                queue.removeFirst()
                inFlight = false
                self.acked += 1
                totals.lock.withLock { totals.acked += 1 }
                if queue.isEmpty, let drained {
                    self.drained = nil
                    drained.succeed(())
                }
                sendNext()
            case .error(let error):
                fail("daemon error: \(error)")
            default:
                fail("unexpected message \(message)")
            }
        }

        func sendNext() {
            guard !inFlight, let head = queue.first, let channel else { return }
            inFlight = true
            sentAt = .now()
            channel.writeAndFlush(head.frame, promise: nil)
        }

        /// One cycle: build the batch stamped now, queue it, send it if nothing is in flight.
        func tick() {
            guard error == nil, !stopped, let channel else { return }
            let nowMs = WallClock.nowMs()
            batchIndex += 1
            seq += 1
            var samples: [Sample] = []
            samples.reserveCapacity(shape.series.count)
            let step = Double(batchIndex)
            for (i, series) in shape.series.enumerated() {
                let value: Double
                switch series.kind {
                case .counter:
                    if series.name == Shape.slowName {
                        value = slowTotal
                    } else {
                        let base = Double((UInt64(i) &* 2_654_435_761 &+ UInt64(index)) % 1_000_000_000)
                        value = base + step * Double(1 + (i * 31 + index) % 997)
                    }
                case .gauge:
                    if i == 0 {
                        // The marker: 10-50 % CPU, the creation time in its digits.
                        value = 0.1 + 0.4 * Double(nowMs % Shape.markerModulus) / Double(Shape.markerModulus)
                    } else if series.shape == .ratio {
                        // A healthy host: no default alert rule fires (hit ratios high, the rest at most 60 %).
                        value = series.name.contains("hit") ? 0.95 + 0.04 * rng.unit() : 0.2 + 0.4 * rng.unit()
                    } else {
                        value = shape.templates[i].value(&rng)
                    }
                }
                samples.append(Sample(series.name, series.labels, value: value, kind: series.kind, timestampMs: nowMs))
            }
            let histograms = shape.endpoints.map { labels in
                HistogramSample(
                    MetricNames.requestDuration, labels, timestampMs: nowMs,
                    histogram: shape.histograms[Int(rng.next() % UInt64(shape.histograms.count))])
            }
            var logs: [LogRecord] = []
            logs.reserveCapacity(shape.logsPerBatch)
            for j in 0..<shape.logsPerBatch {
                let event = FleetCommand.logEvents[Int(rng.next() % UInt64(FleetCommand.logEvents.count))]
                let roll = rng.next() % 100
                let level: LogLevel = roll < 2 ? .error : roll < 8 ? .warning : .info
                let duration = (rng.unit() * 200 * 10).rounded() / 10
                let fields =
                    "{\"path\":\"/v1/memories/search\",\"status\":\(level == .error ? 500 : 200),"
                    + "\"duration_ms\":\(duration),\"user_id\":\"u\(rng.next() % 5000)\"}"
                // Spread over the interval that ends now, as a tailer reads them.
                let lineMs = nowMs - Int64(shape.intervalMs) + Int64((j + 1) * shape.intervalMs / shape.logsPerBatch)
                logs.append(
                    LogRecord(
                        timestampMs: lineMs, level: level, service: "mnemo-api", event: event, logger: "mnemo.api",
                        traceID: String(rng.next(), radix: 16), fields: fields,
                        source: "/var/log/mnemo/api.log@2049:\(131_072 + index)", offset: logOffset))
                logOffset += Int64(160 + fields.utf8.count)
            }
            var events: [Event] = []
            if shape.slowEvery > 0, (batchIndex + index) % shape.slowEvery == 0 {
                let queryid = 4_000_000_000_000 + (index % 50) * 1000 + Int(rng.next() % 20)
                let calls = Double(1 + rng.next() % 5)
                let mean = 250 + rng.unit() * 2000
                slowTotal += calls
                events.append(
                    Event(
                        kind: "pg_statement", key: "16384:\(queryid)", timestampMs: nowMs,
                        payload: .object([
                            ("queryid", .string(String(queryid))), ("dbid", .number(16384)), ("userid", .number(10)),
                            ("database", .string("mnemo")), ("user", .string("mnemo")), ("calls", .number(calls)),
                            ("total_exec_ms", .number(calls * mean)), ("mean_exec_ms", .number(mean)),
                            ("max_exec_ms_since_reset", .number(mean * 1.5)), ("rows", .number(calls * 20)),
                            ("shared_blks_hit", .number(calls * 900)), ("shared_blks_read", .number(calls * 40)),
                            ("reset", .bool(false)),
                            (
                                "query",
                                .string(
                                    "SELECT m.id, m.content, m.embedding <=> $1 AS distance FROM memories m "
                                        + "WHERE m.user_id = $2 ORDER BY distance LIMIT $3")
                            ),
                        ])))
            }
            let batch = Batch(
                seq: seq, createdMs: nowMs, samples: samples, events: events, histograms: histograms, logs: logs)
            var buffer = channel.allocator.buffer(capacity: 64 * 1024)
            FrameEncoder.write(WireMessage.batch(batch).frame(allocator: channel.allocator), to: &buffer)
            frameBytes.append(Double(buffer.readableBytes))
            queue.append((seq, nowMs, buffer))
            created += 1
            totals.lock.withLock { totals.created += 1 }
            maxBacklog = max(maxBacklog, backlog)
            sendNext()
        }
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = Frame
        let agent: Agent

        init(agent: Agent) { self.agent = agent }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            do {
                agent.received(try WireMessage(frame: frame))
            } catch {
                agent.fail("undecodable frame: \(error)")
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !agent.stopped { agent.fail("the daemon closed the connection") }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            agent.fail("\(error)")
            context.close(promise: nil)
        }
    }

    static func run(_ options: Options) throws {
        guard let socketPath = options.string("socket") else { throw UsageError("fleet needs --socket PATH") }
        let count = try options.int("agents", default: 100)
        let durationMs = try options.int("duration-ms", default: 60_000)
        let intervalMs = max(1, try options.int("interval-ms", default: 5000))
        let seriesCount = max(1, try options.int("series", default: 300))
        let endpoints = try options.int("endpoints", default: 10)
        let logRate = try options.int("log-rate", default: 5)
        let slowEvery = try options.int("slow-every", default: 12)
        let threads = max(1, try options.int("threads", default: 2))
        let graceMs = try options.int("grace-ms", default: 15_000)
        let progressMs = max(100, try options.int("progress-ms", default: 10_000))
        let connectConcurrency = max(1, try options.int("connect-concurrency", default: 64))
        let analyzeURL = options.string("analyze-url")
        let warmup = try options.int("warmup-batches", default: 1)
        let prefix = options.string("host-prefix") ?? "fleet"
        let phase = options.string("phase") ?? "spread"
        guard phase == "spread" || phase == "aligned" else { throw UsageError("--phase spread|aligned") }
        try options.finish()

        let logsPerBatch = logRate * intervalMs / 1000
        let shape = Shape(
            series: seriesCount, endpoints: endpoints, logsPerBatch: logsPerBatch, slowEvery: slowEvery,
            intervalMs: intervalMs)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { try? group.syncShutdownGracefully() }
        let totals = Totals()
        let bootID = UUID().uuidString.lowercased()
        func note(_ text: String) { FileHandle.standardError.write(Data("fleet: \(text)\n".utf8)) }

        // Connect and handshake, `connectConcurrency` agents at a time.
        let connectStart = NIODeadline.now()
        var agents: [Agent] = []
        for k in 0..<count {
            agents.append(
                Agent(
                    index: k, host: "\(prefix)-\(k + 1)", shape: shape, loop: group.next(), totals: totals))
        }
        var next = 0
        while next < count {
            let slice = agents[next..<min(count, next + connectConcurrency)]
            next += slice.count
            let futures = slice.map { agent -> EventLoopFuture<Void> in
                ClientBootstrap(group: agent.loop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                            try channel.pipeline.syncOperations.addHandler(Handler(agent: agent))
                        }
                    }
                    .connect(unixDomainSocketPath: socketPath)
                    .flatMap { channel -> EventLoopFuture<Void> in
                        agent.channel = channel
                        var buffer = channel.allocator.buffer(capacity: 256)
                        let hello = WireMessage.hello(
                            .init(
                                agentID: "mon-bench-\(agent.host)", host: agent.host, bootID: bootID,
                                intervalMs: UInt32(intervalMs)))
                        FrameEncoder.write(hello.frame(allocator: channel.allocator), to: &buffer)
                        channel.writeAndFlush(buffer, promise: nil)
                        return agent.welcomed.futureResult
                    }
                    .flatMapErrorThrowing { error in
                        agent.loop.execute { agent.fail("connect: \(error)") }
                    }
            }
            _ = try? EventLoopFuture.andAllComplete(futures, on: group.next()).wait()
        }
        let connectS = Double((NIODeadline.now() - connectStart).nanoseconds) / 1e9
        let connected = agents.filter { agent in (try? agent.loop.submit { agent.error == nil }.wait()) ?? false }
            .count
        note("\(connected) of \(count) agents connected in \(String(format: "%.1f", connectS)) s")

        // Warm-up: every agent's first batches create its series (not the steady state), then
        // the planner gets statistics of metric_series (--analyze-url), as autovacuum would.
        let warmupStart = NIODeadline.now()
        for _ in 0..<warmup {
            var next = 0
            while next < count {
                let slice = agents[next..<min(count, next + connectConcurrency)]
                next += slice.count
                let futures = slice.map { agent in
                    agent.loop.flatSubmit { () -> EventLoopFuture<Void> in
                        guard agent.error == nil else { return agent.loop.makeSucceededVoidFuture() }
                        let promise = agent.loop.makePromise(of: Void.self)
                        agent.drained = promise
                        agent.tick()
                        return promise.futureResult
                    }
                }
                _ = try? EventLoopFuture.andAllComplete(futures, on: group.next()).wait()
            }
        }
        for agent in agents {
            try agent.loop.submit {
                agent.created = 0
                agent.acked = 0
                agent.maxBacklog = 0
                agent.ackMs = []
                agent.createdToAckMs = []
                agent.frameBytes = []
            }.wait()
        }
        totals.lock.withLock {
            totals.created = 0
            totals.acked = 0
        }
        if let analyzeURL {
            let connection = try PostgresConnection(url: analyzeURL, applicationName: "mon-bench-fleet")
            try connection.query("ANALYZE metric_series")
        }
        note(
            "warm-up: \(warmup) batch(es) per agent in "
                + "\(String(format: "%.1f", Double((NIODeadline.now() - warmupStart).nanoseconds) / 1e9)) s")

        // The timed phase: ticks at absolute deadlines (no drift), then stop creating batches.
        let start = NIODeadline.now() + .milliseconds(500)
        let end = start + .milliseconds(Int64(durationMs))
        for agent in agents {
            let offset = phase == "spread" ? Int64(agent.index) * Int64(intervalMs) / Int64(max(1, count)) : 0
            @Sendable func schedule(_ j: Int64) {
                let deadline = start + .milliseconds(offset + j * Int64(intervalMs))
                guard deadline < end else { return }
                agent.loop.scheduleTask(deadline: deadline) {
                    agent.tick()
                    schedule(j + 1)
                }
            }
            agent.loop.execute { schedule(0) }
        }
        note("timed phase started: \(count) agents, \(intervalMs) ms interval, \(durationMs) ms")
        var progress: [Progress] = []
        func sample() -> Progress {
            var backlog = 0
            var behind = 0
            var maxBacklog = 0
            for agent in agents {
                let b = (try? agent.loop.submit { agent.backlog }.wait()) ?? 0
                backlog += b
                if b > 1 { behind += 1 }
                maxBacklog = max(maxBacklog, b)
            }
            let (created, acked) = totals.lock.withLock { (totals.created, totals.acked) }
            return Progress(
                seconds: Double((NIODeadline.now() - start).nanoseconds) / 1e9, created: created, acked: acked,
                backlog: backlog, agentsBehind: behind, maxBacklog: maxBacklog)
        }
        var nextProgress = start + .milliseconds(Int64(progressMs))
        while NIODeadline.now() < end {
            let wake = min(nextProgress, end)
            let wait = wake - NIODeadline.now()
            if wait.nanoseconds > 0 { usleep(UInt32(min(wait.nanoseconds / 1000, 1_000_000))) }
            if NIODeadline.now() >= nextProgress, nextProgress < end {
                let p = sample()
                progress.append(p)
                note(
                    "t=\(Int(p.seconds)) s created \(p.created) acked \(p.acked) backlog \(p.backlog) "
                        + "(agents behind \(p.agentsBehind), max \(p.maxBacklog))")
                nextProgress = nextProgress + .milliseconds(Int64(progressMs))
            }
        }
        // The end of the timed phase: the backlog now says whether the daemon kept up.
        for agent in agents {
            _ = try? agent.loop.submit { agent.backlogAtEnd = agent.backlog }.wait()
        }
        let atEnd = sample()
        progress.append(atEnd)
        let elapsedS = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        note("timed phase ended after \(String(format: "%.1f", elapsedS)) s: backlog \(atEnd.backlog)")
        // Grace: let the batches in flight and queued be acknowledged (no new ones).
        let graceEnd = NIODeadline.now() + .milliseconds(Int64(graceMs))
        while NIODeadline.now() < graceEnd {
            let (created, acked) = totals.lock.withLock { (totals.created, totals.acked) }
            if acked >= created { break }
            usleep(20_000)
        }
        var reports: [AgentReport] = []
        var ackMs: [Double] = []
        var createdToAckMs: [Double] = []
        var frameBytes: [Double] = []
        var undrained = 0
        for agent in agents {
            let (report, a, c, f) = try agent.loop.submit {
                agent.stopped = true
                agent.channel?.close(promise: nil)
                return (
                    AgentReport(
                        host: agent.host, created: agent.created, acked: agent.acked, maxBacklog: agent.maxBacklog,
                        backlogAtEnd: agent.backlogAtEnd, error: agent.error),
                    agent.ackMs, agent.createdToAckMs, agent.frameBytes
                )
            }.wait()
            reports.append(report)
            ackMs += a
            createdToAckMs += c
            frameBytes += f
            undrained += report.created - report.acked
        }
        let batchesAcked = reports.reduce(0) { $0 + $1.acked }
        let worst = reports.sorted {
            ($0.backlogAtEnd, $0.maxBacklog, $0.host) > ($1.backlogAtEnd, $1.maxBacklog, $1.host)
        }
        try printJSON(
            Report(
                agents: count, connected: connected, intervalMs: intervalMs, phase: phase, seriesPerAgent: seriesCount,
                histogramsPerBatch: endpoints, logsPerBatch: logsPerBatch, slowEvery: slowEvery, durationS: elapsedS,
                connectS: connectS, batchesCreated: reports.reduce(0) { $0 + $1.created }, batchesAcked: batchesAcked,
                samplesAcked: batchesAcked * seriesCount,
                samplesPerSecond: Double(batchesAcked * seriesCount) / elapsedS,
                batchesPerSecond: Double(batchesAcked) / elapsedS, frameBytes: Stats(frameBytes), ackMs: Stats(ackMs),
                createdToAckMs: Stats(createdToAckMs), backlogAtEnd: Stats(reports.map { Double($0.backlogAtEnd) }),
                maxBacklog: Stats(reports.map { Double($0.maxBacklog) }),
                agentsWithBacklogAtEnd: reports.filter { $0.backlogAtEnd > 1 }.count,
                agentsWithMaxBacklogAbove1: reports.filter { $0.maxBacklog > 1 }.count, undrained: undrained,
                progress: progress, errors: Array(totals.lock.withLock { totals.errors }.prefix(50)),
                worstAgents: Array(worst.prefix(5))))
    }
}
