import MonCore

/// Runs every collector once and adds the agent's own metrics about the run.
///
/// A collector that throws is reported (`mon_agent_collector_success{collector} 0`)
/// and logged by the caller; the others still run.
public struct CollectionCycle {
    public struct Failure: Sendable {
        public var collector: String
        public var error: String
    }

    public struct Result {
        public var samples: [Sample]
        public var failures: [Failure]
    }

    private let collectors: [any Collector]

    public init(collectors: [any Collector]) { self.collectors = collectors }

    public func run(timestampMs: Int64) -> Result {
        var samples: [Sample] = []
        var failures: [Failure] = []
        let cycleStart = ContinuousClock.now
        for collector in collectors {
            let start = ContinuousClock.now
            var success = 1.0
            do {
                samples.append(contentsOf: try collector.collect(timestampMs: timestampMs))
            } catch {
                success = 0
                failures.append(Failure(collector: collector.name, error: "\(error)"))
            }
            let labels: Labels = ["collector": collector.name]
            samples.append(
                Sample(
                    "mon_agent_collector_duration_seconds",
                    labels,
                    value: start.duration(to: .now).seconds,
                    timestampMs: timestampMs
                )
            )
            samples.append(Sample("mon_agent_collector_success", labels, value: success, timestampMs: timestampMs))
        }
        samples.append(
            Sample(
                "mon_agent_cycle_duration_seconds",
                value: cycleStart.duration(to: .now).seconds,
                timestampMs: timestampMs
            )
        )
        return Result(samples: samples, failures: failures)
    }
}
