import Benchmark
import MonAgentKit
import MonCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

// Micro-benchmarks of the agent's hot parsers (issue 22), with ordo-one/benchmark:
//
//     cd bench/swift && swift package benchmark --target Parsers
//
// (bench/micro runs it under the bench lock and keeps the results in bench/results). Every
// benchmark parses the same fixed input each iteration — the repository's verbatim captures
// under Tests/Fixtures where there is one — so a run is comparable with the last. Metrics:
// wall clock, CPU time, mallocs and throughput, per iteration; one iteration is one parse
// (or one frame), so the figures are per line / per file / per frame.

/// The repository root, found from this file's path (bench/swift/Benchmarks/Parsers/).
private let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(5)
    return parts.joined(separator: "/")
}()

private func fixture(_ relativePath: String) -> [UInt8] {
    let path = repositoryRoot + "/Tests/Fixtures/" + relativePath
    guard let file = fopen(path, "rb") else { fatalError("cannot open fixture \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let read = fread(&chunk, 1, chunk.count, file)
        if read <= 0 { break }
        bytes.append(contentsOf: chunk[0..<read])
    }
    return bytes
}

/// StatsD lines as bench/statsd_sender.py sends them (one per datagram).
private let statsdLines: [[UInt8]] = [
    "http.request.duration:12.345|ms|#endpoint:/v1/memories/search,method:POST,status:200",
    "http.requests:1|c|#endpoint:/v1/memories,method:GET,status:200",
    "embedding.duration:48.210|ms|#model:nomic-embed-text,batch:16",
    "search.results:12|h|#endpoint:/v1/memories/search,mode:hybrid",
    "db.pool.in_use:7|g|#pool:read",
    "cache.hit:1|c|@0.5|#cache:embeddings",
].map { Array($0.utf8) }

/// structlog JSON lines of about 300 bytes as bench/logtail_writer.py writes them: a request,
/// a login (whose password and e-mail redaction masks) and an application event.
private let logLines: [[UInt8]] = [
    #"{"timestamp": "2026-12-05T06:00:00.000010Z", "level": "info", "event": "request finished", "logger": "mnemolite.api", "request_id": "5f0c8e1d2b3a49c6a7e8f9d0c1b2a3e4", "path": "/v1/memories/search", "method": "POST", "status_code": 200, "duration_ms": 14.832}"#,
    #"{"timestamp": "2026-12-05T06:00:00.000020Z", "level": "info", "event": "user login attempt", "logger": "mnemolite.auth", "request_id": "9a8b7c6d5e4f30211f2e3d4c5b6a7980", "user": "user42@example.com", "password": "hunter2-20", "ip": "10.0.12.34"}"#,
    #"{"timestamp": "2026-12-05T06:00:00.000030Z", "level": "debug", "event": "embedding computed", "logger": "mnemolite.embeddings", "request_id": "0123456789abcdef0123456789abcdef", "duration_ms": 3.217, "results": 17, "model": "nomic-embed-text"}"#,
].map { Array($0.utf8) }

/// One host cycle's worth of a batch: 300 samples (1–3 labels), 6 request histograms, 20 logs.
private func hostCycleBatch() -> Batch {
    let now: Int64 = 1_796_450_000_000
    var samples: [Sample] = []
    for index in 0..<300 {
        var labels = Labels()
        switch index % 3 {
        case 0: labels = ["cpu": "cpu\(index % 8)"]
        case 1: labels = ["device": "sd\(index % 4)", "direction": "read"]
        default: labels = ["group": "g\(index % 10)", "state": "running", "user": "app"]
        }
        samples.append(
            Sample(
                "mon_bench_metric_\(index % 60)_total", labels, value: Double(index) * 1.5,
                kind: index.isMultiple(of: 2) ? .counter : .gauge, timestampMs: now))
    }
    var histograms: [HistogramSample] = []
    for index in 0..<6 {
        var histogram = Histogram()
        for observation in 0..<200 { _ = histogram.record(0.001 * Double(observation % 97 + 1)) }
        histograms.append(
            HistogramSample(
                "mon_app_request_duration_seconds", ["endpoint": "/v1/e\(index)", "method": "GET", "status": "200"],
                timestampMs: now, histogram: histogram))
    }
    let logs = (0..<20).map { index in
        LogRecord(
            timestampMs: now + Int64(index), level: .info, service: "mnemolite", event: "request finished",
            logger: "mnemolite.api", traceID: "5f0c8e1d2b3a49c6a7e8f9d0c1b2a3e4",
            fields: #"{"path":"/v1/memories/search","method":"POST","status_code":200,"duration_ms":14.832}"#,
            source: "/var/log/mnemolite/app.log@2049:131077", offset: Int64(index) * 300)
    }
    return Batch(seq: 42, createdMs: now, samples: samples, histograms: histograms, logs: logs)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(4),
        maxIterations: 10_000
    )
    // One sample is 1 000 parses (a million for the sub-microsecond ones), so that the
    // harness's own mallocs vanish from the per-parse count and a sample lasts long enough
    // for CPU time, which the kernel counts in 10-ms ticks. The figures are per parse.
    let mega = Benchmark.Configuration(warmupIterations: 1, scalingFactor: .mega)

    let procStat = fixture("proc/stat")
    Benchmark("proc-stat parse (/proc/stat, \(procStat.count) B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ProcStatParser.parse(procStat, userHZ: 100))
        }
    }

    let pidStat = fixture("proc/pid/stat")
    Benchmark("pid-stat parse (/proc/[pid]/stat, \(pidStat.count) B)", configuration: mega) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ProcessStatParser.parse(pidStat))
        }
    }

    let infoBytes = fixture("redis/info.txt")
    Benchmark("redis-info parse (INFO reply, \(infoBytes.count) B)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try RedisInfoParser.parse(RedisReply.string(infoBytes)))
        }
    }

    Benchmark("statsd parse (one line, \(statsdLines.count)-line mix)", configuration: mega) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            let line = statsdLines[index]
            index = index == statsdLines.count - 1 ? 0 : index + 1
            try line.withUnsafeBytes { bytes in blackHole(try StatsDParser.parse(bytes)) }
        }
    }

    Benchmark("statsd scan (one line, no Strings)", configuration: mega) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            let line = statsdLines[index]
            index = index == statsdLines.count - 1 ? 0 : index + 1
            try line.withUnsafeBytes { bytes in blackHole(try StatsDParser.scan(bytes)) }
        }
    }

    let logParser = try! LogLineParser(config: LogsConfig())
    Benchmark("log-line parse (structlog JSON ~300 B, redaction on)") { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            let line = logLines[index]
            index = index == logLines.count - 1 ? 0 : index + 1
            blackHole(logParser.parse(line, source: "/var/log/app.log@2049:131077", offset: 0, readMs: 0))
        }
    }

    let batch = hostCycleBatch()
    let frame = WireMessage.batch(batch).frame()
    var stream = ByteBuffer()
    FrameEncoder.write(frame, to: &stream)
    Benchmark("frame encode (batch: 300 samples, 6 histograms, 20 logs; \(stream.readableBytes) B)") { benchmark in
        for _ in benchmark.scaledIterations {
            var out = ByteBuffer()
            FrameEncoder.write(WireMessage.batch(batch).frame(), to: &out)
            blackHole(out)
        }
    }

    Benchmark("frame decode (the same frame: length prefix + batch)") { benchmark in
        for _ in benchmark.scaledIterations {
            var input = stream
            var decoder = FrameDecoder()
            guard let decoded = try decoder.decodeFrame(&input) else { fatalError("no frame") }
            blackHole(try WireMessage(frame: decoded))
        }
    }
}
