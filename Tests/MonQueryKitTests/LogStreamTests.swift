import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct LogStreamTests {
    static func log(
        _ id: Int64 = 1, level: LogLevel = .info, service: String = "api", host: String = "web-1",
        trace: String? = nil, event: String = "search done", fields: String = "{}"
    ) -> StoredLog {
        StoredLog(
            id: id, host: host,
            record: LogRecord(
                timestampMs: 0, level: level, service: service, event: event, traceID: trace, fields: fields))
    }

    // MARK: LogFilter

    @Test func emptyFilterMatchesEverything() {
        #expect(LogFilter().matches(Self.log()))
        #expect(LogFilter().matches(Self.log(level: .debug, service: "", host: "", event: "")))
    }

    @Test(arguments: [
        (LogLevel.debug, [true, true, true, true, true]),
        (.info, [false, true, true, true, true]),
        (.warning, [false, false, true, true, true]),
        (.error, [false, false, false, true, true]),
        (.critical, [false, false, false, false, true]),
    ])
    func levelMatchesAtOrAbove(_ minimum: LogLevel, _ expected: [Bool]) {
        let filter = LogFilter(level: minimum)
        #expect(LogLevel.allCases.map { filter.matches(Self.log(level: $0)) } == expected)
    }

    @Test func serviceHostAndTraceMustBeEqual() {
        #expect(LogFilter(service: "api").matches(Self.log(service: "api")))
        #expect(!LogFilter(service: "api").matches(Self.log(service: "API")))
        #expect(!LogFilter(service: "api").matches(Self.log(service: "api-worker")))
        #expect(LogFilter(host: "web-1").matches(Self.log(host: "web-1")))
        #expect(!LogFilter(host: "web-1").matches(Self.log(host: "web-2")))
        #expect(LogFilter(traceID: "r-1").matches(Self.log(trace: "r-1")))
        #expect(!LogFilter(traceID: "r-1").matches(Self.log(trace: "r-2")))
        #expect(!LogFilter(traceID: "r-1").matches(Self.log(trace: nil)))
    }

    @Test func everyConditionMustHold() {
        let filter = LogFilter(level: .warning, service: "api", host: "web-1", traceID: "t", query: "timeout")
        let matching = Self.log(level: .error, trace: "t", event: "DB Timeout")
        #expect(filter.matches(matching))
        var wrongLevel = matching
        wrongLevel.record.level = .info
        #expect(!filter.matches(wrongLevel))
        var wrongHost = matching
        wrongHost.host = "web-2"
        #expect(!filter.matches(wrongHost))
        var wrongText = matching
        wrongText.record.event = "ok"
        #expect(!filter.matches(wrongText))
    }

    @Test(arguments: [
        ("timeout", true),
        ("TIMEOUT", true),
        ("timeout database", true),
        ("timeout missing", false),
        ("bob", true),  // found in the fields
        ("user", true),  // field names are text too
        ("-health", true),
        ("-timeout", false),
        ("database -bob", false),
        ("\"database timeout\"", true),
        ("timeout or nothing", false),
        ("timeout or", true),
        ("-", true),
        ("", true),
    ])
    func queryWordsAndExclusions(_ query: String, _ expected: Bool) {
        let log = Self.log(event: "Database Timeout after 5s", fields: #"{"user":"bob"}"#)
        #expect(LogFilter(query: query).matches(log) == expected, "\(query)")
    }

    // MARK: LogBroadcaster

    @Test func slowSubscriberDropsBeyondItsBufferAndLearnsTheCount() async throws {
        let broadcaster = LogBroadcaster()
        let (id, stream) = broadcaster.subscribe(filter: LogFilter(), bufferSize: 2)
        #expect(broadcaster.subscriberCount == 1)
        broadcaster.publish([Self.log(1), Self.log(2), Self.log(3)])
        #expect(broadcaster.takeDropped(id) == 1)
        #expect(broadcaster.takeDropped(id) == 0)
        #expect(broadcaster.droppedTotal == 1)

        var iterator = stream.makeAsyncIterator()
        var received: [Int64] = []
        for _ in 0..<2 {
            guard case .log(let log)? = await iterator.next() else {
                Issue.record("expected a log")
                return
            }
            received.append(log.id)
        }
        // The oldest records are kept; the newest one was dropped.
        #expect(received == [1, 2])
        broadcaster.publish([Self.log(4)])
        guard case .log(let next)? = await iterator.next() else {
            Issue.record("expected a log")
            return
        }
        #expect(next.id == 4)
        #expect(broadcaster.takeDropped(id) == 0)
    }

    @Test func onlyMatchingRecordsAreDeliveredOrCountedAsDropped() async {
        let broadcaster = LogBroadcaster()
        let (id, stream) = broadcaster.subscribe(filter: LogFilter(level: .error), bufferSize: 1)
        broadcaster.publish([Self.log(1), Self.log(2, level: .error), Self.log(3), Self.log(4, level: .info)])
        #expect(broadcaster.takeDropped(id) == 0)
        var iterator = stream.makeAsyncIterator()
        guard case .log(let log)? = await iterator.next() else {
            Issue.record("expected a log")
            return
        }
        #expect(log.id == 2)
    }

    @Test func eachSubscriberHasItsOwnBufferAndCount() {
        let broadcaster = LogBroadcaster()
        let small = broadcaster.subscribe(filter: LogFilter(), bufferSize: 1)
        let large = broadcaster.subscribe(filter: LogFilter(), bufferSize: 10)
        #expect(small.id != large.id)
        broadcaster.publish((1...4).map { Self.log($0) })
        #expect(broadcaster.takeDropped(small.id) == 3)
        #expect(broadcaster.takeDropped(large.id) == 0)
        #expect(broadcaster.droppedTotal == 3)
        #expect(broadcaster.takeDropped(12_345) == 0)
    }

    @Test func unsubscribeFinishesTheStreamAfterWhatIsBuffered() async {
        let broadcaster = LogBroadcaster()
        let (id, stream) = broadcaster.subscribe(filter: LogFilter(), bufferSize: 4)
        broadcaster.publish([Self.log(7)])
        broadcaster.unsubscribe(id)
        #expect(broadcaster.subscriberCount == 0)
        broadcaster.publish([Self.log(8)])
        var iterator = stream.makeAsyncIterator()
        guard case .log(let log)? = await iterator.next() else {
            Issue.record("expected the buffered log")
            return
        }
        #expect(log.id == 7)
        let end = await iterator.next()
        #expect(end == nil)
        // Unsubscribing twice is harmless.
        broadcaster.unsubscribe(id)
    }

    @Test func keepaliveReachesOnlyItsSubscriber() async {
        let broadcaster = LogBroadcaster()
        let first = broadcaster.subscribe(filter: LogFilter(), bufferSize: 4)
        let second = broadcaster.subscribe(filter: LogFilter(), bufferSize: 4)
        broadcaster.keepalive(first.id)
        broadcaster.publish([Self.log(5)])
        var firstIterator = first.stream.makeAsyncIterator()
        guard case .keepalive? = await firstIterator.next() else {
            Issue.record("expected a keepalive first")
            return
        }
        var secondIterator = second.stream.makeAsyncIterator()
        guard case .log(let log)? = await secondIterator.next() else {
            Issue.record("expected the log, not a keepalive")
            return
        }
        #expect(log.id == 5)
    }

    @Test func droppingTheStreamUnsubscribes() {
        let broadcaster = LogBroadcaster()
        do {
            let subscription = broadcaster.subscribe(filter: LogFilter(), bufferSize: 4)
            #expect(subscription.id > 0)
            #expect(broadcaster.subscriberCount == 1)
        }
        #expect(broadcaster.subscriberCount == 0)
    }
}
