import MonCore
import ServiceLifecycle

/// Evaluates the anomaly monitor every `every` until shutdown, the first time at start.
public struct AnomalyService: Service {
    let monitor: AnomalyMonitor
    let every: Duration

    public init(monitor: AnomalyMonitor, every: Duration) {
        self.monitor = monitor
        self.every = every
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await monitor.evaluate(nowMs: WallClock.nowMs())
                try? await Task.sleep(for: every)
            }
        }
    }
}
