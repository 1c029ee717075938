import Logging
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import MonCore

/// The one periodic loop every service uses: ticks, outcomes, failures, shutdown. Waits are a
/// few milliseconds; every assertion is about order and counts, never about how long it took.
@Suite(.timeLimit(.minutes(1))) struct PeriodicServiceTests {
    struct Planted: Error {}

    /// What the runs saw, shared with the test.
    final class Log: Sendable {
        let ticks = Mutex<[PeriodicService<Void>.Tick]>([])
        var count: Int { ticks.withLock { $0.count } }
        func append(_ tick: PeriodicService<Void>.Tick) -> Int {
            ticks.withLock {
                $0.append(tick)
                return $0.count
            }
        }
    }

    static let logger = Logger(label: "test")

    /// Runs `service.loop()` until `log` holds `runs` ticks, then cancels it.
    static func run(_ service: PeriodicService<Void>, until runs: Int, log: Log) async {
        let task = Task { await service.loop() }
        while log.count < runs { await Task.yield() }
        task.cancel()
        await task.value
    }

    @Test func alignedTicksAreMultiplesOfTheInterval() async {
        let log = Log()
        let service = PeriodicService(name: "t", schedule: .aligned(interval: 0.005), logger: Self.logger) { tick in
            _ = log.append(tick)
            return .next
        }
        await Self.run(service, until: 3, log: log)
        let ticks = log.ticks.withLock { $0 }
        #expect(ticks.count >= 3)
        #expect(ticks.allSatisfy { $0.timestampMs % 5 == 0 })
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0.timestampMs < $1.timestampMs })
        #expect(service.counters.snapshot.runs == ticks.count)
    }

    /// A service on `.startThenAligned(interval:)` whose runs append to `log`.
    static func startThenAligned(_ interval: Double, log: Log) -> PeriodicService<Void> {
        PeriodicService(name: "t", schedule: .startThenAligned(interval: interval), logger: logger) { tick in
            _ = log.append(tick)
            return .next
        }
    }

    @Test func startThenAlignedRunsOnceAtStartThenOnAlignedTicks() async {
        let log = Log()
        await Self.run(Self.startThenAligned(0.005, log: log), until: 3, log: log)
        let ticks = log.ticks.withLock { $0 }
        #expect(ticks.dropFirst().allSatisfy { $0.timestampMs % 5 == 0 })
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0.timestampMs < $1.timestampMs })
    }

    @Test func startThenAlignedDoesNotWaitForTheFirstTick() async {
        let log = Log()
        // The first aligned tick is up to an hour away: only the run at start can come now.
        let service = Self.startThenAligned(3600, log: log)
        await Self.run(service, until: 1, log: log)
        #expect(log.count == 1)
        #expect(service.counters.snapshot.runs == 1)
    }

    @Test func aRunThatOverrunsTheIntervalSkipsTicksAndCountsThem() async throws {
        let log = Log()
        let service = PeriodicService(name: "t", schedule: .aligned(interval: 0.005), logger: Self.logger) { tick in
            // The first run takes at least three intervals: the next tick skips at least two.
            if log.append(tick) == 1 { try await Task.sleep(for: .milliseconds(15)) }
            return .next
        }
        await Self.run(service, until: 2, log: log)
        let ticks = log.ticks.withLock { $0 }
        #expect(ticks[0].skippedTicks == 0)
        #expect(ticks[1].skippedTicks >= 2)
        #expect(ticks[1].timestampMs - ticks[0].timestampMs >= 15)
    }

    @Test func failuresAreCountedAndResetByASuccess() async {
        let log = Log()
        let failed = Mutex<[Int]>([])
        let service = PeriodicService(
            name: "t", schedule: .every(.milliseconds(1)), logger: Self.logger,
            onFailure: { _, tick in failed.withLock { $0.append(tick.consecutiveFailures) } },
            body: { tick in
                // Runs 1 and 2 fail, 3 succeeds, 4 fails.
                let run = log.append(tick)
                if run == 1 || run == 2 || run == 4 { throw Planted() }
                return .next
            })
        await Self.run(service, until: 5, log: log)
        let ticks = log.ticks.withLock { $0 }
        #expect(ticks.prefix(5).map(\.consecutiveFailures) == [0, 1, 2, 0, 1])
        #expect(failed.withLock { $0 } == [1, 2, 1])
        let counted = service.counters.snapshot
        #expect(counted.failures == 3)
        #expect(counted.runs >= 5)
    }

    @Test("the pause after failures grows with them, up to the limit")
    func failurePause() {
        func service(_ limit: Duration?) -> PeriodicService<Void> {
            PeriodicService(
                name: "t", schedule: .every(.seconds(10)), maxFailurePause: limit, logger: Self.logger
            ) { _ in .next }
        }
        #expect(service(.seconds(60)).nextPause(failures: 0) == .seconds(10))
        #expect(service(.seconds(60)).nextPause(failures: 3) == .seconds(30))
        #expect(service(.seconds(60)).nextPause(failures: 100) == .seconds(60))
        #expect(service(nil).nextPause(failures: 5) == .seconds(10))
        #expect(service(.seconds(1)).nextPause(failures: 5) == .seconds(10))
        let aligned = PeriodicService(name: "t", schedule: .aligned(interval: 5), logger: Self.logger) { _ in .next }
        #expect(aligned.nextPause(failures: 3) == .zero)
    }

    @Test func againRunsBeforeTheNextPauseWouldEnd() async {
        let log = Log()
        // A pause of an hour: only `.again` can bring the second and third runs.
        let service = PeriodicService(name: "t", schedule: .every(.seconds(3600)), logger: Self.logger) { tick in
            log.append(tick) < 3 ? .again(after: .milliseconds(1)) : .next
        }
        await Self.run(service, until: 3, log: log)
        #expect(log.count == 3)
    }

    @Test func firstAfterDelaysTheFirstRunAndStateLivesAcrossRuns() async {
        let seen = Mutex<[Int]>([])
        let service = PeriodicService<Int>(
            name: "t", schedule: .every(.milliseconds(1), firstAfter: .seconds(3600)), logger: Self.logger,
            makeState: { 0 },
            body: { state, _ in
                state += 1
                seen.withLock { $0.append(state) }
                return .next
            })
        let task = Task { await service.loop() }
        for _ in 0..<1000 { await Task.yield() }
        task.cancel()
        await task.value
        #expect(seen.withLock { $0 }.isEmpty, "ran before its first delay")

        let counting = PeriodicService<Int>(
            name: "t", schedule: .every(.milliseconds(1)), logger: Self.logger, makeState: { 10 },
            body: { state, _ in
                state += 1
                seen.withLock { $0.append(state) }
                return .next
            })
        let second = Task { await counting.loop() }
        while seen.withLock({ $0.count }) < 3 { await Task.yield() }
        second.cancel()
        await second.value
        #expect(seen.withLock { Array($0.prefix(3)) } == [11, 12, 13])
    }

    @Test func gracefulShutdownEndsTheLoop() async throws {
        let log = Log()
        let service = PeriodicService(name: "t", schedule: .every(.seconds(3600)), logger: Self.logger) { tick in
            _ = log.append(tick)
            return .next
        }
        try await testGracefulShutdown { trigger in
            let task = Task { try await service.run() }
            while log.count < 1 { await Task.yield() }
            // Waiting an hour for the next run; the shutdown must end the wait and the loop.
            trigger.triggerGracefulShutdown()
            try await task.value
        }
        #expect(log.count == 1)
    }
}
