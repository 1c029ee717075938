import Logging
import ServiceLifecycle
import Synchronization

/// The one periodic loop: every service that does something on a schedule (the agent's
/// sampler, sources and flushes, the daemon's rollups, partitions, alerts, anomalies, the
/// systemd watchdog) runs its work through this, so ticks, shutdown and failures behave the
/// same everywhere.
///
/// - Ticks are either wall-clock aligned (12:00:00, 12:00:05, … so every host's samples line
///   up; a tick missed because the previous run overran is skipped and counted), or a pause
///   after each run.
/// - A graceful shutdown cancels the wait and ends the loop; a run in progress finishes first
///   unless it awaits something cancellable itself.
/// - A run that throws is counted (`counters`), reported through `onFailure` (by default a log
///   line naming the task), and the next run waits `pause × consecutive failures`, at most
///   `maxFailurePause` (by default the pause itself: no growth).
///
/// `State` lives in the loop (made once at start by `makeState`) and is handed to each run,
/// so a run can keep what it learned without being `Sendable` or shared.
public struct PeriodicService<State>: Service {
    public enum Schedule: Sendable {
        /// On wall-clock ticks that are multiples of `interval` seconds.
        case aligned(interval: Double)
        /// Once at start (the tick is the wall clock then, not aligned), then as `aligned`: the
        /// agent's sampler, whose first batch then leaves at once instead of up to an interval
        /// later, and whose rates have a baseline by the first aligned tick.
        case startThenAligned(interval: Double)
        /// `pause` after each run ends; the first run `firstAfter` after start.
        case every(Duration, firstAfter: Duration = .zero)
    }

    /// What the loop does next, as a run decides.
    public enum Outcome: Sendable, Equatable {
        /// Wait for the next tick (or the pause).
        case next
        /// More work is waiting (a backlog): run again after `delay` instead.
        case again(after: Duration)
    }

    /// What one run knows about its place in the schedule.
    public struct Tick: Sendable, Equatable {
        /// The aligned tick (ms since the epoch); for `.every`, the wall clock at the run's start.
        public var timestampMs: Int64
        /// Ticks skipped so far because a run overran the interval (aligned schedules only).
        public var skippedTicks: Int
        /// Runs that threw since the last one that did not.
        public var consecutiveFailures: Int
    }

    public let name: String
    let schedule: Schedule
    let maxFailurePause: Duration?
    public let counters: PeriodicCounters
    let onFailure: @Sendable (any Error, Tick) async -> Void
    let makeState: @Sendable () -> State
    let body: @Sendable (inout State, Tick) async throws -> Outcome

    /// - Parameters:
    ///   - name: names the task in log lines and in `counters`' owner's metrics.
    ///   - maxFailurePause: the longest wait after failures (`.every` only); nil keeps the pause.
    ///   - onFailure: told of each failed run; by default an error line with the task's name.
    public init(
        name: String,
        schedule: Schedule,
        maxFailurePause: Duration? = nil,
        counters: PeriodicCounters = PeriodicCounters(),
        logger: Logger,
        onFailure: (@Sendable (any Error, Tick) async -> Void)? = nil,
        makeState: @escaping @Sendable () -> State,
        body: @escaping @Sendable (inout State, Tick) async throws -> Outcome
    ) {
        self.name = name
        self.schedule = schedule
        self.maxFailurePause = maxFailurePause
        self.counters = counters
        self.onFailure =
            onFailure ?? { error, tick in
                logger.error(
                    "periodic task failed",
                    metadata: ["task": "\(name)", "error": "\(error)", "failures": "\(tick.consecutiveFailures)"])
            }
        self.makeState = makeState
        self.body = body
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    /// The loop itself, for callers that are not in a service group (tests, one-shot modes):
    /// returns when the task is cancelled.
    public func loop() async {
        var state = makeState()
        var ticker: AlignedTicker?
        var pending: Duration
        var runAtStart = false
        switch schedule {
        case .aligned(let interval):
            ticker = AlignedTicker(interval: interval)
            pending = .zero
        case .startThenAligned(let interval):
            ticker = AlignedTicker(interval: interval)
            pending = .zero
            runAtStart = true
        case .every(_, let firstAfter):
            pending = firstAfter
        }
        var failures = 0
        while !Task.isCancelled {
            var tick = Tick(timestampMs: WallClock.nowMs(), skippedTicks: 0, consecutiveFailures: failures)
            if runAtStart {
                runAtStart = false
            } else if ticker != nil, pending == .zero {
                guard let aligned = await ticker?.next() else { return }
                tick.timestampMs = aligned
                tick.skippedTicks = ticker?.skipped ?? 0
            } else if pending > .zero {
                do { try await Task.sleep(for: pending) } catch { return }
                tick.timestampMs = WallClock.nowMs()
                tick.skippedTicks = ticker?.skipped ?? 0
            }
            guard !Task.isCancelled else { return }
            do {
                let outcome = try await body(&state, tick)
                failures = 0
                counters.ran(failed: false)
                switch outcome {
                case .next: pending = nextPause(failures: 0)
                case .again(let delay): pending = max(delay, .nanoseconds(1))
                }
            } catch {
                failures += 1
                tick.consecutiveFailures = failures
                counters.ran(failed: true)
                await onFailure(error, tick)
                pending = nextPause(failures: failures)
            }
        }
    }

    /// The wait before the next run: zero for an aligned schedule (the ticker waits; after a
    /// failure the next tick is soon enough), the pause for `.every`, grown by failures.
    func nextPause(failures: Int) -> Duration {
        guard case .every(let pause, _) = schedule else { return .zero }
        guard failures > 0, let limit = maxFailurePause else { return pause }
        return min(pause * failures, max(limit, pause))
    }
}

extension PeriodicService where State == Void {
    /// A periodic task that keeps no state between runs.
    public init(
        name: String,
        schedule: Schedule,
        maxFailurePause: Duration? = nil,
        counters: PeriodicCounters = PeriodicCounters(),
        logger: Logger,
        onFailure: (@Sendable (any Error, Tick) async -> Void)? = nil,
        body: @escaping @Sendable (Tick) async throws -> Outcome
    ) {
        self.init(
            name: name, schedule: schedule, maxFailurePause: maxFailurePause, counters: counters, logger: logger,
            onFailure: onFailure, makeState: {}, body: { _, tick in try await body(tick) })
    }
}

/// How a periodic task has fared: runs and failed runs, readable from any thread (the owner
/// may expose them as metrics).
public final class PeriodicCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var runs = 0
        public var failures = 0
        public var consecutiveFailures = 0
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func ran(failed: Bool) {
        state.withLock {
            $0.runs += 1
            if failed {
                $0.failures += 1
                $0.consecutiveFailures += 1
            } else {
                $0.consecutiveFailures = 0
            }
        }
    }
}
