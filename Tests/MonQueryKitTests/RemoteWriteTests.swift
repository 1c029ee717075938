import Foundation
import MonTestSupport
import SwiftProtobuf
import Testing

@testable import MonCore
@testable import MonQueryKit

private func destinations(_ yaml: String) throws -> [RemoteWriteSettings] {
    let file = try TempFile(yaml, name: "monquery.yaml")
    defer { file.remove() }
    return try QueryConfig.load(path: file.path, environment: [:]).remoteWrite
}

/// `export.remote_write`: settings and their errors, the encoding of stored rows into
/// remote-write 1.0 requests (labels, the histogram `le` ladder, request splitting, snappy),
/// and the retry decisions.
@Suite struct RemoteWriteTests {
    @Test("a destination with every key is read; defaults fill the rest; none by default")
    func settings() throws {
        let token = try TempFile("t0ken\n", name: "token")
        defer { token.remove() }
        let list = try destinations(
            """
            export:
              remote_write:
                - name: mimir
                  url: https://mimir.example/api/v1/push
                  headers: {X-Scope-OrgID: fleet}
                  bearer_token_file: \(token.path)
                  tls: {insecure_skip_verify: true}
                  queue: {max_samples_per_send: 500, max_shards: 4, capacity: 20000}
                  write_relabel: {keep: "mon_host_.*", drop: "mon_host_cpu_seconds_total"}
                - url: http://127.0.0.1:9090/api/v1/write
            """)
        #expect(list.count == 2)
        let first = list[0]
        #expect(first.name == "mimir" && first.url.absoluteString == "https://mimir.example/api/v1/push")
        #expect(first.headers == ["X-Scope-OrgID": "fleet"] && first.auth == .bearer("t0ken"))
        #expect(first.tls.insecureSkipVerify && first.tls.prefix == "export.remote_write[0].tls")
        #expect(first.maxSamplesPerSend == 500 && first.maxShards == 4 && first.capacity == 20000)
        #expect(first.keep == "mon_host_.*" && first.drop == "mon_host_cpu_seconds_total")
        let second = list[1]
        #expect(second.name == "127.0.0.1:9090" && second.maxSamplesPerSend == 2000 && second.maxShards == 4)
        #expect(second.capacity == 50000 && second.auth == .none && second.timeoutSeconds == 30)
        #expect(try destinations("export:\n  max_concurrent: 2\n").isEmpty)
    }

    @Test("each mistake names its key inside the list, and never shows a secret")
    func errors() throws {
        let cases: [(String, String, String)] = [
            ("- name: a\n", "export.remote_write[0].url", "is required"),
            ("- url: ftp://x\n", "export.remote_write[0].url", "not an http(s) URL"),
            ("- url: http://u:hunter2@x/w\n", "export.remote_write[0].url", "basic_auth"),
            (
                "- url: http://x/w\n  queue: {max_shards: 0}\n", "export.remote_write[0].queue.max_shards",
                "out of range"
            ),
            (
                "- url: http://x/w\n  write_relabel: {keep: \"(\"}\n", "export.remote_write[0].write_relabel.keep",
                "regular"
            ),
            (
                "- url: http://x/w\n  headers: {Authorization: x}\n", "export.remote_write[0].headers.Authorization",
                "bearer"
            ),
            ("- url: http://x/w\n  qeueu: {capacity: 1}\n", "export.remote_write[0].qeueu.capacity", "unknown key"),
            ("- url: http://x/w\n- url: http://x/w\n", "export.remote_write[1].name", "two destinations"),
            ("- url: http://x/w\n  name: \"a b\"\n", "export.remote_write[0].name", "letters"),
        ]
        for (items, key, words) in cases {
            let error = #expect(throws: ConfigError.self) {
                try destinations(
                    "export:\n  remote_write:\n" + items.split(separator: "\n").map { "    \($0)\n" }.joined())
            }
            #expect(error?.key == key, "\(items): \(String(describing: error))")
            #expect(error?.message.contains(words) == true, "\(items): \(String(describing: error))")
            #expect(error?.description.contains("hunter2") == false)
        }
        let scalar = #expect(throws: ConfigError.self) { try destinations("export:\n  remote_write: http://x\n") }
        #expect(scalar?.key == "export.remote_write")
    }

    @Test("write_relabel keeps and drops whole metric names")
    func relabel() {
        let filter = MetricNameFilter(keep: "mon_host_.*|mon_app_.*", drop: "mon_host_cpu_seconds_total")
        #expect(filter.admits("mon_host_cpu_usage_ratio"))
        #expect(filter.admits("mon_app_request_duration_seconds"))
        #expect(!filter.admits("mon_host_cpu_seconds_total"))
        #expect(!filter.admits("mon_pg_up"))
        // Anchored: a keep pattern matching part of a name does not admit it.
        #expect(!MetricNameFilter(keep: "host", drop: nil).admits("mon_host_up"))
        #expect(MetricNameFilter(keep: nil, drop: nil).admits("anything"))
    }

    @Test("labels: __name__ and host first by byte order, the series' own sorted, clashing names renamed")
    func labels() {
        let labels = RemoteWriteEncoder.labels(
            name: "mon_app_request_duration_seconds", host: "web-1",
            labels: [("status", "200"), ("Endpoint", "/a"), ("le", "5"), ("host", "spoof"), ("bad-name", "x")])
        #expect(
            labels.map(\.name) == [
                "Endpoint", "__name__", "bad_name", "exported_host", "exported_le", "host", "status",
            ])
        #expect(labels.first { $0.name == "__name__" }?.value == "mon_app_request_duration_seconds")
        #expect(labels.first { $0.name == "host" }?.value == "web-1")
        #expect(labels.first { $0.name == "exported_host" }?.value == "spoof")
    }

    @Test("histogram windows add up to classic cumulative buckets on the fixed le ladder")
    func histogramLadder() throws {
        var window = Histogram()
        for value in [0.0005, 0.003, 0.003, 0.2, 120.0] {
            let recorded = window.record(value)
            #expect(recorded)
        }
        var totals = RemoteWriteEncoder.HistogramTotals()
        totals.add(window)
        let base = RemoteWriteEncoder.labels(name: "lat_seconds", host: "h", labels: [("endpoint", "/a")])
        var series = totals.series(name: "lat_seconds", labels: base)
        func value(_ name: String, le: String? = nil) -> Double? {
            series.first { entry in
                entry.labels.contains { $0.name == "__name__" && $0.value == name }
                    && (le == nil || entry.labels.contains { $0.name == "le" && $0.value == le })
            }?.value
        }
        #expect(RemoteWriteEncoder.leTexts.first == "0.001" && RemoteWriteEncoder.leTexts.last == "+Inf")
        #expect(value("lat_seconds_bucket", le: "0.001") == 1)
        #expect(value("lat_seconds_bucket", le: "0.0025") == 1)
        #expect(value("lat_seconds_bucket", le: "0.005") == 3)
        #expect(value("lat_seconds_bucket", le: "0.25") == 4)
        #expect(value("lat_seconds_bucket", le: "60") == 4)
        #expect(value("lat_seconds_bucket", le: "+Inf") == 5)
        #expect(value("lat_seconds_count") == 5)
        #expect(abs((value("lat_seconds_sum") ?? 0) - 120.2065) < 1e-9)
        // Labels stay sorted with le inserted; every series has the base labels.
        for entry in series {
            let names = entry.labels.map(\.name)
            #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
        // A second window adds to the counters.
        totals.add(window)
        series = totals.series(name: "lat_seconds", labels: base)
        #expect(value("lat_seconds_bucket", le: "0.005") == 6 && value("lat_seconds_count") == 10)
    }

    @Test(
        "requests hold at most max_samples_per_send samples, a long series split in order; the body is snappy protobuf")
    func requestsAndBody() throws {
        let a = RemoteWriteEncoder.Series(
            labels: RemoteWriteEncoder.labels(name: "a", host: "h", labels: []),
            samples: (0..<5).map { RemoteWriteEncoder.sample(Int64($0) * 1000, Double($0)) })
        let b = RemoteWriteEncoder.Series(
            labels: RemoteWriteEncoder.labels(name: "b", host: "h", labels: []),
            samples: [RemoteWriteEncoder.sample(0, 9)])
        let requests = RemoteWriteEncoder.requests([a, b], maxSamples: 2)
        #expect(requests.map(RemoteWriteEncoder.sampleCount) == [2, 2, 2])
        #expect(requests[2].timeseries.map { $0.labels.first { $0.name == "__name__" }?.value } == ["a", "b"])
        let timestamps = requests.flatMap { $0.timeseries.filter { $0.labels.contains { $0.value == "a" } } }
            .flatMap(\.samples).map(\.timestamp)
        #expect(timestamps == [0, 1000, 2000, 3000, 4000])
        #expect(RemoteWriteEncoder.requests([], maxSamples: 10).isEmpty)

        let body = try #require(RemoteWriteEncoder.body(requests[0]))
        let raw = try #require(Snappy.uncompress(body))
        let decoded = try Prometheus_WriteRequest(serializedBytes: raw)
        #expect(decoded == requests[0])
        #expect(a.shardKey != b.shardKey)
    }

    @Test("2xx sent; 5xx, 429 and no answer retried with a growing, capped backoff; other statuses dropped")
    func retryDecisions() {
        var generator = SeededGenerator(state: 7)
        var retry = RemoteWriteRetry(minBackoffSeconds: 0.5, maxBackoffSeconds: 4)
        #expect(retry.decide(.status(204), using: &generator) == .sent)
        var ceilings: [Double] = []
        for attempt in [
            RemoteWriteRetry.Attempt.status(503), .status(429), .failed("refused"), .status(500), .status(502),
        ] {
            guard case .retry(let seconds) = retry.decide(attempt, using: &generator) else {
                Issue.record("\(attempt) was not retried")
                continue
            }
            ceilings.append(seconds)
        }
        #expect(retry.failures == 5)
        // Full jitter in [ceiling/2, ceiling]: 0.5, 1, 2, 4, 4.
        for (delay, ceiling) in zip(ceilings, [0.5, 1, 2, 4, 4]) { #expect(delay >= ceiling / 2 && delay <= ceiling) }
        #expect(retry.decide(.status(200), using: &generator) == .sent)
        #expect(retry.failures == 0)
        #expect(retry.decide(.status(400), using: &generator) == .drop(reason: "http_400"))
        #expect(retry.decide(.status(404), using: &generator) == .drop(reason: "http_404"))
        #expect(retry.decide(.status(301), using: &generator) == .drop(reason: "http_301"))
        guard case .retry(let first) = retry.decide(.status(503), using: &generator) else {
            Issue.record("503 after a drop was not retried")
            return
        }
        #expect(first <= 0.5)
    }

    @Test("snappy round-trips and refuses what is not a block")
    func snappy() throws {
        let text = Array(String(repeating: "mon_host_cpu_usage_ratio{host=\"a\"} 0.5\n", count: 100).utf8)
        let compressed = try #require(Snappy.compress(text))
        #expect(compressed.count < text.count / 4)
        #expect(Snappy.uncompress(compressed) == text)
        #expect(Snappy.uncompress([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2]) == nil)
        #expect(Snappy.uncompress(compressed, maxLength: 10) == nil)
        #expect(Snappy.compress([]).flatMap { Snappy.uncompress($0) } == [])
    }
}
