import Foundation
import MonTestSupport
import NIOCore
import Testing

@testable import MonAgentKit
@testable import MonCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The OTLP/HTTP trace intake: decoding (protobuf, OTLP/JSON), conversion and redaction,
/// gzip, limits, partial success, back-pressure and the batches it queues.
@Suite struct TraceIntakeTests {
    static let converter = try! SpanConverter(config: TracesConfig(), logs: LogsConfig())

    static func span(
        trace: [UInt8] = Array(1...16), id: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8], parent: [UInt8] = [],
        name: String = "GET /items", start: UInt64 = 1_700_000_000_000_000_000, duration: UInt64 = 5_000_000,
        attributes: [(String, String)] = []
    ) -> OTLPSpan {
        var span = OTLPSpan()
        span.traceID = Data(trace)
        span.spanID = Data(id)
        span.parentSpanID = Data(parent)
        span.name = name
        span.kind = .server
        span.startTimeUnixNano = start
        span.endTimeUnixNano = start &+ duration
        span.attributes = attributes.map { key, value in
            var pair = OTLPKeyValue()
            pair.key = key
            pair.value.stringValue = value
            return pair
        }
        return span
    }

    static func request(_ spans: [OTLPSpan], service: String? = "api") -> OTLPExportRequest {
        var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scope.spans = spans
        var resource = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        if let service {
            var pair = OTLPKeyValue()
            pair.key = "service.name"
            pair.value.stringValue = service
            resource.resource.attributes = [pair]
        }
        resource.scopeSpans = [scope]
        var request = OTLPExportRequest()
        request.resourceSpans = [resource]
        return request
    }

    static func protobuf(_ request: OTLPExportRequest) throws -> [UInt8] { try request.serializedBytes() }

    static func intake(
        _ config: TracesConfig = TracesConfig(), queue: MemoryBatchQueue = MemoryBatchQueue(capacity: 1000),
        counters: AppAggregator? = AppAggregator(config: StatsDConfig())
    ) -> OTLPIntake {
        OTLPIntake(config: config, converter: converter, queue: queue, counters: counters)
    }

    /// One of the agent's own counters as the next flush ships it.
    static func counter(_ aggregator: AppAggregator, _ name: String, _ labels: Labels = Labels()) -> Double? {
        aggregator.flush(timestampMs: 1).samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func attributes(_ record: SpanRecord) throws -> JSONValue { try JSONParser.parse(record.attributes) }
}

// MARK: Decoding

extension TraceIntakeTests {
    @Test("the specification's example OTLP/JSON request (hex ids, int64 as strings, integer enums)")
    func jsonSpecExample() throws {
        let request = try OTLPDecoder.decode(try Fixtures.bytes("otlp/trace.json"), encoding: .json)
        let result = Self.converter.convert(request)
        #expect(result.rejectedCount == 0)
        let span = try #require(result.spans.first)
        #expect(result.spans.count == 1)
        #expect(span.traceID == "5b8efff798038103d269b633813fc60c")
        #expect(span.spanID == "eee19b7ec3c1b174")
        #expect(span.parentSpanID == "eee19b7ec3c1b173")
        #expect(span.service == "my.service")
        #expect(span.name == "I'm a server span")
        #expect(span.kind == .server)
        #expect(span.startNs == 1_544_712_660_000_000_000)
        #expect(span.durationNs == 1_000_000_000)
        #expect(span.status == .error)
        #expect(span.statusMessage == "it failed")
        let attributes = try Self.attributes(span)
        #expect(attributes["my.span.attr"] == "some value")
        #expect(attributes["http.response.status_code"] == 200)
        #expect(attributes["sampled"] == .bool(true))
        #expect(attributes["ratio"] == .number(0.5))
        #expect(attributes["tags"] == ["a", 2])
        #expect(attributes["map"] == .object([("k", "v")]))
        #expect(attributes["blob"] == "AAEC")
        #expect(attributes["resource.host.name"] == "web-1")
        #expect(attributes["resource.service.name"] == nil, "service.name is the span's service, not an attribute")
        #expect(attributes["otel.scope.name"] == "my.library")
        #expect(attributes["otel.scope.version"] == "1.0.0")
        let events = try JSONParser.parse(span.events)
        #expect(
            events
                == [
                    .object([
                        ("name", "exception"), ("time_unix_nano", .number(1_544_712_660_500_000_000)),
                        ("attributes", .object([("exception.message", "boom")])),
                    ])
                ])
        #expect(BatchCodec.fitsWire(span))
    }

    @Test("protobuf and OTLP/JSON of the same request convert to the same spans")
    func protobufMatchesJSON() throws {
        let fromJSON = try OTLPDecoder.decode(try Fixtures.bytes("otlp/trace.json"), encoding: .json)
        let bytes = try Self.protobuf(fromJSON)
        let fromProtobuf = try OTLPDecoder.decode(bytes, encoding: .protobuf)
        #expect(fromProtobuf == fromJSON)
        #expect(Self.converter.convert(fromProtobuf).spans == Self.converter.convert(fromJSON).spans)
    }

    @Test("OTLP/JSON variants: proto field names, int64 as numbers, enum names, unknown fields skipped")
    func jsonVariants() throws {
        let text = """
            {"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0102030405060708090a0b0c0d0e0f10",
            "span_id":"0102030405060708","name":"q","kind":"SPAN_KIND_CLIENT","start_time_unix_nano":1700000000000000000,
            "end_time_unix_nano":"1700000000000000500","links":[{"x":1}],"futureField":{"a":[1,2]},
            "attributes":[{"key":"n","value":{"int_value":7}}],"status":{"code":"STATUS_CODE_OK"}}]}]}]}
            """
        let request = try OTLPDecoder.decode(Array(text.utf8), encoding: .json)
        let span = try #require(Self.converter.convert(request).spans.first)
        #expect(span.kind == .client)
        #expect(span.status == .ok)
        #expect(span.service == "mnemolite", "no service.name: traces.default_service")
        #expect(span.startNs == 1_700_000_000_000_000_000)
        #expect(try Self.attributes(span)["n"] == 7)
    }

    @Test(
        "undecodable bodies are refused with a reason",
        arguments: [
            ("[1,2]", "request is not an object"),
            ("{\"resourceSpans\":{}}", "resourceSpans is not an array"),
            ("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}", "traceId is not hex"),
            ("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":-1}]}]}]}", "startTimeUnixNano"),
            ("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"SIDEWAYS\"}]}]}]}", "kind"),
            ("{\"resourceSpans\": [", "invalid JSON"),
        ])
    func badJSON(_ body: String, _ reason: String) {
        #expect {
            _ = try OTLPDecoder.decode(Array(body.utf8), encoding: .json)
        } throws: { error in
            (error as? OTLPDecodeError)?.reason.contains(reason) == true
        }
    }

    @Test("truncated protobuf, and a length larger than the body, are refused")
    func badProtobuf() throws {
        let bytes = try Self.protobuf(Self.request([Self.span()]))
        for cut in [1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: OTLPDecodeError.self) {
                try OTLPDecoder.decode(Array(bytes.prefix(cut)), encoding: .protobuf)
            }
        }
        // Field 1 (resource_spans), length-delimited, declaring 2^31 bytes.
        let huge: [UInt8] = [0x0A, 0x80, 0x80, 0x80, 0x80, 0x08, 0x01]
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.decode(huge, encoding: .protobuf) }
    }
}

// MARK: Conversion

extension TraceIntakeTests {
    @Test("spans with bad ids or times are rejected one by one, by reason; the rest are kept")
    func rejections() {
        let spans = [
            Self.span(),
            Self.span(trace: Array(repeating: 0, count: 16)),
            Self.span(trace: [1, 2, 3]),
            Self.span(id: Array(repeating: 0, count: 8)),
            Self.span(parent: [1, 2]),
            Self.span(start: 0),
            {
                var span = Self.span()
                span.endTimeUnixNano = span.startTimeUnixNano - 1
                return span
            }(),
        ]
        let result = Self.converter.convert(Self.request(spans))
        #expect(result.spans.count == 1)
        #expect(result.rejected[.invalidTraceID] == 2)
        #expect(result.rejected[.invalidSpanID] == 1)
        #expect(result.rejected[.invalidParentSpanID] == 1)
        #expect(result.rejected[.invalidTime] == 1)
        #expect(result.rejected[.endBeforeStart] == 1)
        #expect(
            result.rejectionMessage.contains("1 span(s) refused: end_time_unix_nano is before start_time_unix_nano"))
    }

    @Test("secrets in attributes are redacted with the log rules, SQL literals and URL tokens replaced")
    func redaction() throws {
        let span = Self.span(attributes: [
            ("db.statement", "SELECT * FROM users WHERE email = 'bob@example.com' AND id = 42 AND t2.x = $1"),
            ("url.full", "https://api.example.com/v1/items?page=2&access_token=abc123&sig=zz#top"),
            ("http.url", "http://u:hunter2@db.example.com/x?q=1"),
            ("url.query", "token=t0k&x=1"),
            ("http.request.header.authorization", "Bearer s3cr3t"),
            ("http.request.header.cookie", "session=abc"),
            ("message", "called with password=letmein"),
            ("http.route", "/v1/items"),
        ])
        var erroring = span
        erroring.status.code = .error
        erroring.status.message = "upstream said: Bearer abc.def"
        let record = try #require(Self.converter.convert(Self.request([erroring])).spans.first)
        let attributes = try Self.attributes(record)
        #expect(attributes["db.statement"] == "SELECT * FROM users WHERE email = ? AND id = ? AND t2.x = $1")
        #expect(
            attributes["url.full"]
                == "https://api.example.com/v1/items?page=2&[REDACTED]&sig=[REDACTED]#top",
            "the query parameter is masked, then the log pattern for token=… masks the pair")
        #expect(attributes["url.query"] == "[REDACTED]&x=1")
        #expect(attributes["http.request.header.authorization"] == "[REDACTED]")
        #expect(attributes["http.request.header.cookie"] == "[REDACTED]")
        #expect(attributes["message"] == "called with [REDACTED]")
        #expect(attributes["http.route"] == "/v1/items")
        #expect(!record.attributes.contains("hunter2"))
        #expect(!record.statusMessage.contains("abc.def"))
        for secret in ["bob@example.com", "abc123", "t0k", "s3cr3t", "letmein"] {
            #expect(!record.attributes.contains(secret), "\(secret) leaked")
        }
    }

    @Test("SQL literal scrubbing keeps identifiers, placeholders and comments")
    func sqlLiterals() {
        #expect(
            SQLLiterals.scrub("SELECT a1, \"T 2\".b FROM t WHERE x IN (1, 2.5e-3, 'it''s') -- n 3")
                == "SELECT a1, \"T 2\".b FROM t WHERE x IN (?, ?, ?) -- n 3")
        #expect(
            SQLLiterals.scrub("UPDATE t SET v = E'a\\'b', w = $$x'y$$ WHERE id = $2")
                == "UPDATE t SET v = ?, w = ? WHERE id = $2")
        #expect(SQLLiterals.scrub("unterminated 'abc") == "unterminated ?")
    }

    @Test("long strings, many attributes and many events are cut to the bounds; the wire accepts the span")
    func bounds() throws {
        var span = Self.span(
            name: String(repeating: "n", count: 100_000),
            attributes: (0..<400).map { ("k\($0)", String(repeating: "v", count: 10_000)) })
        for index in 0..<40 {
            var event = OTLPSpan.Event()
            event.name = "e\(index)"
            event.timeUnixNano = 1
            span.events.append(event)
        }
        let result = Self.converter.convert(Self.request([span], service: String(repeating: "s", count: 70_000)))
        let record = try #require(result.spans.first)
        #expect(BatchCodec.fitsWire(record))
        #expect(record.name.utf8.count == 4096)
        #expect(record.attributes.utf8.count <= 256 << 10)
        let attributes = try Self.attributes(record)
        #expect(attributes["k0"] == .string(String(repeating: "v", count: 4096)))
        #expect(attributes["otel.dropped_events_count"] == 24)
        guard case .number(let dropped)? = attributes["otel.dropped_attributes_count"] else {
            Issue.record("no otel.dropped_attributes_count")
            return
        }
        #expect(dropped > 0)
        guard case .array(let events) = try JSONParser.parse(record.events) else {
            Issue.record("events is not an array")
            return
        }
        #expect(events.count == 16)
        #expect(result.truncations > 0)
    }
}

// MARK: The intake (HTTP semantics without the network)

extension TraceIntakeTests {
    @Test("a protobuf request is answered 200 with an empty ExportTraceServiceResponse and queued as one batch")
    func acceptedProtobuf() async throws {
        let queue = MemoryBatchQueue(capacity: 10)
        let counters = AppAggregator(config: StatsDConfig())
        let intake = Self.intake(queue: queue, counters: counters)
        let body = try Self.protobuf(Self.request([Self.span(), Self.span(id: [9, 9, 9, 9, 9, 9, 9, 9])]))
        let response = await intake.handle(contentType: "application/x-protobuf", contentEncoding: nil, body: body)
        #expect(response.status == 200)
        #expect(response.contentType == "application/x-protobuf")
        let answer = try OTLPExportResponse(serializedBytes: response.body)
        #expect(!answer.hasPartialSuccess)
        let batch = try #require(await queue.oldestUnacked())
        #expect(batch.spans.map(\.spanID) == ["0102030405060708", "0909090909090909"])
        #expect(batch.spans.allSatisfy { $0.service == "api" })
        let samples = counters.flush(timestampMs: 1).samples
        func value(_ name: String, _ labels: Labels = Labels()) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("mon_agent_traces_requests_total", ["result": "accepted"]) == 1)
        #expect(value("mon_agent_traces_spans_received_total") == 2)
        #expect(value("mon_agent_traces_bytes_total") == Double(body.count))
    }

    @Test("rejected spans come back in partial_success (JSON answer to a JSON request) and are counted")
    func partialSuccessJSON() async throws {
        let counters = AppAggregator(config: StatsDConfig())
        let intake = Self.intake(counters: counters)
        let body = """
            {"resourceSpans":[{"scopeSpans":[{"spans":[
            {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","startTimeUnixNano":"10","endTimeUnixNano":"20"},
            {"traceId":"00000000000000000000000000000000","spanId":"0102030405060708","startTimeUnixNano":"10","endTimeUnixNano":"20"}]}]}]}
            """
        let response = await intake.handle(
            contentType: "application/json", contentEncoding: nil, body: Array(body.utf8))
        #expect(response.status == 200)
        #expect(response.contentType == "application/json")
        let json = try JSONParser.parse(response.body)
        #expect(json["partialSuccess"]?["rejectedSpans"] == "1")
        #expect(
            json["partialSuccess"]?["errorMessage"] == "1 span(s) refused: trace_id is not 16 bytes, or is all zero")
        let samples = counters.flush(timestampMs: 1).samples
        #expect(
            samples.first {
                $0.name == "mon_agent_traces_spans_rejected_total" && $0.labels == ["reason": "invalid_trace_id"]
            }?
            .value == 1)
        #expect(
            samples.first { $0.name == "mon_agent_traces_requests_total" && $0.labels == ["result": "partial"] }?.value
                == 1)
    }

    @Test("gzip bodies are inflated; a gzip bomb is refused at traces.max_body_bytes (413), corrupt gzip 400")
    func gzip() async throws {
        var config = TracesConfig()
        config.maxBodyBytes = 1 << 20
        let queue = MemoryBatchQueue(capacity: 10)
        let intake = Self.intake(config, queue: queue)
        let body = try Self.protobuf(Self.request([Self.span()]))
        let zipped = try #require(Gzip.compress(body))
        let ok = await intake.handle(contentType: "application/x-protobuf", contentEncoding: "gzip", body: zipped)
        #expect(ok.status == 200)
        #expect(await queue.depth == 1)

        let bomb = try #require(Gzip.compress([UInt8](repeating: 0, count: 64 << 20), level: 9))
        #expect(bomb.count < 1 << 20)
        let refused = await intake.handle(contentType: "application/x-protobuf", contentEncoding: "gzip", body: bomb)
        #expect(refused.status == 413)
        let status = try Google_Rpc_Status(serializedBytes: refused.body)
        #expect(status.message.contains("traces.max_body_bytes"))

        let corrupt = await intake.handle(
            contentType: "application/json", contentEncoding: "gzip", body: Array(zipped.prefix(zipped.count / 2)))
        #expect(corrupt.status == 400)
        #expect(try JSONParser.parse(corrupt.body)["message"] == "invalid gzip data: truncated")
        let unknown = await intake.handle(contentType: "application/json", contentEncoding: "br", body: [1])
        #expect(unknown.status == 415)
        #expect(await queue.depth == 1)
    }

    @Test("wrong path 404, wrong method 405, other content types 415, a declared or actual body over the limit 413")
    func early() async {
        var config = TracesConfig()
        config.maxBodyBytes = 1024
        let intake = Self.intake(config)
        #expect(
            intake.early(method: "POST", path: "/v1/metrics", contentType: "application/json", contentLength: 2)?.status
                == 404)
        #expect(intake.early(method: "GET", path: "/v1/traces", contentType: nil, contentLength: nil)?.status == 405)
        #expect(
            intake.early(method: "POST", path: "/v1/traces", contentType: "text/plain", contentLength: 2)?.status == 415
        )
        #expect(intake.early(method: "POST", path: "/v1/traces", contentType: nil, contentLength: 2)?.status == 415)
        #expect(
            intake.early(method: "POST", path: "/v1/traces", contentType: "application/json", contentLength: 1025)?
                .status
                == 413)
        #expect(
            intake.early(
                method: "POST", path: "/v1/traces?x=1", contentType: "application/json; charset=utf-8",
                contentLength: 1024)
                == nil)
        let large = await intake.handle(
            contentType: "application/json", contentEncoding: nil, body: [UInt8](repeating: 32, count: 1025))
        #expect(large.status == 413)
        let bad = await intake.handle(contentType: "application/x-protobuf", contentEncoding: nil, body: [0xFF, 0xFF])
        #expect(bad.status == 400)
        #expect((try? Google_Rpc_Status(serializedBytes: bad.body))?.code == 3)
    }

    @Test("above traces.max_pending_spans unacked, requests get 503 with Retry-After until the daemon acks")
    func backPressure() async throws {
        var config = TracesConfig()
        config.maxPendingSpans = 100
        let queue = MemoryBatchQueue(capacity: 100)
        let counters = AppAggregator(config: StatsDConfig())
        let intake = Self.intake(config, queue: queue, counters: counters)
        let spans = (1...60).map { Self.span(id: [1, 1, 1, 1, 1, 1, 1, UInt8($0)]) }
        let body = try Self.protobuf(Self.request(spans))
        let first = await intake.handle(contentType: "application/x-protobuf", contentEncoding: nil, body: body)
        #expect(first.status == 200)
        let second = await intake.handle(contentType: "application/x-protobuf", contentEncoding: nil, body: body)
        #expect(second.status == 503)
        #expect(second.retryAfterSeconds == 5)
        #expect(await queue.depth == 1, "the refused spans are not queued: the SDK retries them")
        await queue.acknowledge(upTo: await queue.lastSeq)
        let third = await intake.handle(contentType: "application/x-protobuf", contentEncoding: nil, body: body)
        #expect(third.status == 200)
        #expect(
            counters.flush(timestampMs: 1).samples.first {
                $0.name == "mon_agent_traces_requests_total" && $0.labels == ["result": "overloaded"]
            }?.value == 1)
    }

    @Test("the shaper splits a large span batch under ingest.max_batch_bytes, every span kept in order")
    func spansAreSplit() {
        let spans = (0..<200).map { index in
            SpanRecord(
                traceID: "0102030405060708090a0b0c0d0e0f10", spanID: String(format: "%016x", index + 1),
                service: "api", name: "n", startNs: 1, durationNs: 2,
                attributes: "{\"a\":\"\(String(repeating: "x", count: 2000))\"}")
        }
        let shaper = BatchShaper(maxBatchBytes: 64 << 10)
        let parts = shaper.shape(Batch(seq: 0, createdMs: 1, samples: [], spans: spans))
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { BatchShaperTests.encoded($0) <= 64 << 10 })
        #expect(parts.flatMap(\.spans) == spans)
        #expect(shaper.counters[.splitBatches] == 1)
        let huge = SpanRecord(
            traceID: "0102030405060708090a0b0c0d0e0f10", spanID: "0102030405060708", service: "api", name: "n",
            startNs: 1, durationNs: 2, attributes: String(repeating: "x", count: 100 << 10))
        let alone = shaper.shape(Batch(seq: 0, createdMs: 1, samples: [], spans: [huge, spans[0]]))
        #expect(alone.flatMap(\.spans) == [spans[0]])
        #expect(shaper.counters[.oversizedRecords] == 1)
    }
}

// MARK: Gzip and configuration

extension TraceIntakeTests {
    @Test("Gzip.decompress: round trip, concatenated members, the bound, garbage")
    func inflate() throws {
        let text = Array("hello, traces".utf8)
        let one = try #require(Gzip.compress(text))
        #expect(try Gzip.decompress(one, maxBytes: 100) == text)
        #expect(try Gzip.decompress(one + one, maxBytes: 100) == text + text)
        #expect(throws: Gzip.InflateError.tooLarge(limit: 5)) { try Gzip.decompress(one, maxBytes: 5) }
        #expect(throws: Gzip.InflateError.self) { try Gzip.decompress(Array("not gzip".utf8), maxBytes: 100) }
        #expect(throws: Gzip.InflateError.self) { try Gzip.decompress([], maxBytes: 100) }
    }

    @Test func configDefaultsAndOverrides() throws {
        let defaults = try AgentConfig.load(path: nil, environment: [:]).traces
        #expect(defaults.enabled)
        #expect(defaults.listen.host == "127.0.0.1")
        #expect(defaults.listen.port == 4318)
        #expect(defaults.maxBodyBytes == 4 << 20)
        #expect(defaults.defaultService == "mnemolite")
        let yaml = """
            logs:
              service: shop
            traces:
              enabled: false
              otlp_listen: "[::1]:14318"
              max_body_bytes: 65536
              max_pending_spans: 500
            """
        let config = try AgentConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: [:])).traces
        #expect(!config.enabled)
        #expect(config.listen.host == "::1")
        #expect(config.listen.port == 14318)
        #expect(config.maxBodyBytes == 65536)
        #expect(config.maxPendingSpans == 500)
        #expect(config.defaultService == "shop", "defaults to logs.service")
        #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: nil, environment: ["MONAGENT_TRACES_MAX_BODY_BYTES": "10"])
        }
        #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: nil, environment: ["MONAGENT_TRACES_OTLP_LISTEN": "nope"])
        }
    }
}

// MARK: Protobuf from another encoder, and the listener

extension TraceIntakeTests {
    @Test("a request encoded by protoc (Tests/Fixtures/otlp/two-spans.pb) converts and redacts as expected")
    func protocEncoded() throws {
        let request = try OTLPDecoder.decode(try Fixtures.bytes("otlp/two-spans.pb"), encoding: .protobuf)
        let spans = Self.converter.convert(request).spans
        #expect(spans.map(\.name) == ["GET /items", "SELECT"])
        #expect(spans[1].parentSpanID == spans[0].spanID)
        #expect(spans[0].status == .error)
        let attributes = try Self.attributes(spans[0])
        #expect(attributes["http.request.header.authorization"] == "[REDACTED]")
        #expect(attributes["url.full"] == "http://h/x?[REDACTED]&a=1")
        #expect(attributes["n"] == -5)
        #expect(attributes["m"] == .object([("k", "AAE=")]))
        #expect(attributes["otel.scope.version"] == "0.66b1")
        #expect(spans[0].events.contains("[REDACTED]") && !spans[0].events.contains("password=x"))
        #expect(try Self.attributes(spans[1])["db.statement"] == "SELECT * FROM t WHERE a = ? AND b = ?")
    }

    /// POSTs `body` to the listener; status, headers and body.
    static func post(
        _ port: Int, path: String = "/v1/traces", method: String = "POST", type: String?, body: [UInt8]
    ) async throws -> (Int, [AnyHashable: Any], [UInt8]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let type { request.setValue(type, forHTTPHeaderField: "Content-Type") }
        if method == "POST" { request.httpBody = Data(body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (http.statusCode, http.allHeaderFields, Array(data))
    }

    @Test("the listener answers over HTTP/1.1: 200 with the response message, 405, 404, 415, 413")
    func listener() async throws {
        var config = TracesConfig()
        config.listen = ("127.0.0.1", 0)
        config.maxBodyBytes = 4096
        let queue = MemoryBatchQueue(capacity: 10)
        let intake = Self.intake(config, queue: queue)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = OTLPServer(
            config: config, intake: intake, counters: nil, logger: .init(label: "test"),
            onListening: { continuation.yield($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            var ports = stream.makeAsyncIterator()
            let port = try #require(await ports.next())
            let body = try Self.protobuf(Self.request([Self.span()]))
            let (status, headers, answer) = try await Self.post(port, type: "application/x-protobuf", body: body)
            #expect(status == 200)
            #expect(headers["Content-Type"] as? String == "application/x-protobuf")
            #expect((try? OTLPExportResponse(serializedBytes: answer)) != nil)
            #expect(await queue.depth == 1)
            #expect(try await Self.post(port, method: "GET", type: nil, body: []).0 == 405)
            #expect(try await Self.post(port, path: "/v1/logs", type: "application/json", body: [1]).0 == 404)
            #expect(try await Self.post(port, type: "text/plain", body: [1]).0 == 415)
            let (large, _, largeBody) = try await Self.post(
                port, type: "application/json", body: [UInt8](repeating: 32, count: 5000))
            #expect(large == 413)
            #expect(String(decoding: largeBody, as: UTF8.self).contains("traces.max_body_bytes"))
            let (bad, _, badBody) = try await Self.post(port, type: "application/json", body: Array("{".utf8))
            #expect(bad == 400)
            #expect(String(decoding: badBody, as: UTF8.self).contains("invalid JSON"))
            group.cancelAll()
        }
    }
}
