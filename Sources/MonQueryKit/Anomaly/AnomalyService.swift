import Logging
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
        try await PeriodicService(
            name: "anomalies", schedule: .every(every), logger: Logger(label: "monquery.anomalies")
        ) { [monitor] tick in
            await monitor.evaluate(nowMs: tick.timestampMs)
            return .next
        }.run()
    }
}
