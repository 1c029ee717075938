import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct FailureThrottleTests {
    @Test("10 failures a minute, then throttled with Retry-After until one attempt refills")
    func bucket() {
        var throttle = FailureThrottle(limit: 10, capacity: 100)
        let start: Int64 = 1_000_000
        for attempt in 1...9 {
            let throttled = throttle.recordFailure("192.0.2.1", nowMs: start + Int64(attempt))
            #expect(!throttled)
            #expect(throttle.retryAfter("192.0.2.1", nowMs: start + Int64(attempt)) == nil)
        }
        let tenth = throttle.recordFailure("192.0.2.1", nowMs: start + 10)
        #expect(tenth)
        let wait = throttle.retryAfter("192.0.2.1", nowMs: start + 10)
        #expect(wait == 6, "one attempt refills in 6 s")
        #expect(throttle.retryAfter("192.0.2.2", nowMs: start + 10) == nil, "other addresses are not affected")
        #expect(throttle.retryAfter("192.0.2.1", nowMs: start + 3_010) == 3, "half an attempt refilled")
        #expect(throttle.retryAfter("192.0.2.1", nowMs: start + 6_010) == nil)
        let again = throttle.recordFailure("192.0.2.1", nowMs: start + 6_010)
        #expect(again, "the refilled attempt is used up again")
        #expect(throttle.retryAfter("192.0.2.1", nowMs: start + 60_000 + 10) == nil)
    }

    @Test("the table never grows past its capacity; refilled addresses go first, then the oldest")
    func bounded() {
        var throttle = FailureThrottle(limit: 2, capacity: 16)
        for index in 0..<10_000 {
            throttle.recordFailure("10.0.\(index / 256).\(index % 256)", nowMs: Int64(index))
            #expect(throttle.trackedAddresses <= 16)
        }
        #expect(throttle.evictions == 10_000 - 16)
        // A throttled address survives new addresses as long as older ones can go.
        var kept = FailureThrottle(limit: 2, capacity: 4)
        kept.recordFailure("198.51.100.1", nowMs: 0)
        kept.recordFailure("198.51.100.2", nowMs: 1)
        kept.recordFailure("198.51.100.2", nowMs: 2)
        for index in 0..<20 { kept.recordFailure("203.0.113.\(index)", nowMs: 3 + Int64(index)) }
        #expect(kept.retryAfter("198.51.100.2", nowMs: 30) == nil || kept.trackedAddresses <= 4)
    }

    @Test("IPv6 addresses count per /64; IPv4-mapped ones as their IPv4 address")
    func keys() {
        #expect(FailureThrottle.key("2001:db8:1:2:aaaa::1") == FailureThrottle.key("2001:db8:1:2:bbbb:cccc:dddd:eeee"))
        #expect(FailureThrottle.key("2001:db8:1:2::1") != FailureThrottle.key("2001:db8:1:3::1"))
        #expect(FailureThrottle.key("::1") == "0:0:0:0::/64")
        #expect(FailureThrottle.key("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(FailureThrottle.key("192.0.2.7") == "192.0.2.7")
        var throttle = FailureThrottle(limit: 1, capacity: 10)
        throttle.recordFailure("2001:db8:1:2::1", nowMs: 0)
        #expect(throttle.retryAfter("2001:db8:1:2::99", nowMs: 1) != nil)
    }

    @Test("AuthThrottle counts failures by kind and throttled requests, and renders them")
    func counters() {
        let throttle = AuthThrottle(limit: 2, capacity: 16)
        throttle.recordFailure("192.0.2.1", kind: .bearer, nowMs: 0)
        throttle.recordFailure("192.0.2.1", kind: .login, nowMs: 1)
        #expect(throttle.check("192.0.2.1", nowMs: 2) != nil)
        #expect(throttle.check("192.0.2.9", nowMs: 2) == nil)
        #expect(throttle.failures(.bearer) == 1 && throttle.failures(.login) == 1 && throttle.throttledTotal == 1)
        var out = PrometheusText()
        throttle.render(into: &out)
        out.finish()
        let text = String(decoding: out.takeBytes(), as: UTF8.self)
        #expect(text.contains("mon_query_auth_failures_total{kind=\"bearer\"} 1"))
        #expect(text.contains("mon_query_auth_throttled_total 1"))
        #expect(text.contains("mon_query_auth_throttle_addresses 1"))
    }
}

@Suite struct HTTPConnectionStateTests {
    static func state(overCapacity: Bool = false) -> HTTPConnectionState {
        HTTPConnectionState(idleTimeoutMs: 1000, maxBodyBytes: 100, overCapacity: overCapacity, nowMs: 0)
    }

    @Test("an idle keep-alive connection is closed; a long response is not")
    func idle() {
        var state = Self.state()
        #expect(state.firstDeadlineMs == 1000)
        let early = state.timer(nowMs: 500)
        #expect(early == .check(atMs: 1000))
        let head = state.head(contentLength: nil, nowMs: 600)
        let ended = state.end(nowMs: 600)
        #expect(head == .forward && ended)
        let streaming = state.timer(nowMs: 5000)
        #expect(streaming == .wait, "a stream may run for hours")
        let next = state.responseEnded(nowMs: 6000)
        #expect(next == 7000)
        let before = state.timer(nowMs: 6500)
        #expect(before == .check(atMs: 7000))
        let after = state.timer(nowMs: 7000)
        #expect(after == .close)
    }

    @Test("a client trickling its head, or its body, is closed after the idle timeout")
    func trickle() {
        var head = Self.state()
        let headTimer = head.timer(nowMs: 1000)
        #expect(headTimer == .close, "no complete head within the timeout")
        var body = Self.state()
        let forwarded = body.head(contentLength: nil, nowMs: 10)
        let part = body.body(bytes: 1)
        #expect(forwarded == .forward && part == .forward)
        let early = body.timer(nowMs: 900)
        #expect(early == .check(atMs: 1010))
        let late = body.body(bytes: 1)
        #expect(late == .forward)
        let bodyTimer = body.timer(nowMs: 1010)
        #expect(bodyTimer == .close, "the body must come whole within the timeout of its head")
    }

    @Test("over capacity: every request refused; bodies over the cap: 413 or close")
    func refusals() {
        var over = Self.state(overCapacity: true)
        let refusedHead = over.head(contentLength: nil, nowMs: 1)
        let droppedBody = over.body(bytes: 5)
        let droppedEnd = over.end(nowMs: 1)
        #expect(refusedHead == .refuse(.maxConnections) && droppedBody == .drop && !droppedEnd)
        var declared = Self.state()
        let tooLarge = declared.head(contentLength: 101, nowMs: 1)
        #expect(tooLarge == .refuse(.bodyTooLarge))
        var streamed = Self.state()
        let streamedHead = streamed.head(contentLength: nil, nowMs: 1)
        let first = streamed.body(bytes: 60)
        let second = streamed.body(bytes: 60)
        #expect(streamedHead == .forward && first == .forward && second == .close)
        var overflow = Self.state()
        let answered = overflow.headerOverflow()
        #expect(answered)
        var busy = Self.state()
        _ = busy.head(contentLength: nil, nowMs: 1)
        let busyAnswered = busy.headerOverflow()
        #expect(!busyAnswered, "a response is under way: Hummingbird's 400 instead")
    }

    @Test("HTTPLimitStats: stream slots are capped, refusals counted by reason")
    func stats() {
        let stats = HTTPLimitStats()
        #expect(stats.acquireStream(limit: 2) && stats.acquireStream(limit: 2))
        #expect(!stats.acquireStream(limit: 2))
        stats.releaseStream()
        #expect(stats.acquireStream(limit: 2))
        stats.refuse(.maxConnections)
        #expect(stats.refusals(.maxConnections) == 1 && stats.refusals(.bodyTooLarge) == 0)
        #expect(stats.connectionOpened() == 1 && stats.connectionOpened() == 2)
        stats.connectionClosed()
        #expect(stats.openConnections == 1)
    }
}

@Suite struct ListenAddressTests {
    @Test(
        "loopback is decided on the parsed IP, never on a prefix of a name",
        arguments: [
            ("127.0.0.1", true), ("127.1.2.3", true), ("::1", true), ("::ffff:127.0.0.1", true),
            ("127.foo.example", false), ("127.0.0.1.nip.io", false), ("localhost", false), ("0.0.0.0", false),
            ("::", false), ("10.0.0.1", false), ("128.0.0.1", false), ("::2", false), ("", false),
            ("127.0.0.1 ", false),
        ])
    func loopback(_ host: String, _ expected: Bool) {
        #expect(QueryConfig.isLoopback(host) == expected)
    }

    @Test("http.listen: localhost is bound as 127.0.0.1; a name under 127. needs tokens")
    func listen() throws {
        let local = try QueryConfig.load(path: nil, environment: ["MONQUERY_HTTP_LISTEN": "localhost:9000"])
        #expect(local.httpHost == "127.0.0.1" && local.httpPort == 9000)
        #expect(throws: ConfigError.self) {
            try QueryConfig.load(path: nil, environment: ["MONQUERY_HTTP_LISTEN": "127.foo.example:9000"])
        }
    }

    @Test("HTTP limits: defaults, overrides, and out-of-range values naming the key")
    func limits() throws {
        let defaults = try QueryConfig.load(path: nil, environment: [:]).httpLimits
        #expect(defaults == HTTPLimits())
        #expect(defaults.maxConnections == 256 && defaults.idleTimeoutSeconds == 60)
        let set = try QueryConfig.load(
            path: nil,
            environment: [
                "MONQUERY_HTTP_MAX_CONNECTIONS": "10", "MONQUERY_HTTP_IDLE_TIMEOUT_SECONDS": "1.5",
                "MONQUERY_HTTP_MAX_STREAM_SUBSCRIBERS": "3", "MONQUERY_HTTP_MAX_HEADER_BYTES": "4096",
                "MONQUERY_HTTP_MAX_BODY_BYTES": "2048", "MONQUERY_AUTH_MAX_FAILURES_PER_MINUTE": "3",
                "MONQUERY_AUTH_THROTTLE_MAX_ADDRESSES": "100",
            ]
        ).httpLimits
        #expect(set.maxConnections == 10 && set.idleTimeoutSeconds == 1.5 && set.maxStreamSubscribers == 3)
        #expect(set.maxHeaderBytes == 4096 && set.maxBodyBytes == 2048)
        #expect(set.authFailuresPerMinute == 3 && set.throttleMaxAddresses == 100)
        for (variable, key) in [
            ("MONQUERY_HTTP_MAX_CONNECTIONS", "http.max_connections"),
            ("MONQUERY_HTTP_MAX_HEADER_BYTES", "http.max_header_bytes"),
        ] {
            do {
                _ = try QueryConfig.load(path: nil, environment: [variable: "0"])
                Issue.record("\(variable)=0 accepted")
            } catch let error as ConfigError {
                #expect(error.key == key)
            }
        }
    }
}
