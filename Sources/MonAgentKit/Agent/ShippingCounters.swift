import MonCore
import Synchronization

/// What the agent changed or refused on the way out, sent every cycle as `mon_agent_*`
/// counters: nothing is cut or dropped silently.
public final class ShippingCounters: Sendable {
    public enum Counter: Int, CaseIterable, Sendable {
        /// Batches split in several because they would not fit in one frame.
        case splitBatches
        /// Samples, histograms, events or log records too large for a frame even alone: dropped.
        case oversizedRecords
        /// Samples and histograms whose series name or labels were cut, hashed or renamed.
        case truncatedSeries
        /// WELCOMEs reporting a seq above any this agent assigned (ignored: nothing dropped).
        case welcomesAhead

        /// The counter's sample name.
        public var metricName: String {
            switch self {
            case .splitBatches: "mon_agent_batches_split_total"
            case .oversizedRecords: "mon_agent_oversized_records_dropped_total"
            case .truncatedSeries: "mon_agent_series_truncated_total"
            case .welcomesAhead: "mon_agent_ingest_welcome_ahead_total"
            }
        }
    }

    private let values = Mutex([Int](repeating: 0, count: Counter.allCases.count))

    public init() {}

    func add(_ counter: Counter, _ count: Int = 1) {
        guard count > 0 else { return }
        values.withLock { $0[counter.rawValue] &+= count }
    }

    public subscript(counter: Counter) -> Int { values.withLock { $0[counter.rawValue] } }

    /// The counters as samples of a cycle.
    public func samples(timestampMs: Int64) -> [Sample] {
        let current = values.withLock { $0 }
        return Counter.allCases.map {
            Sample($0.metricName, value: Double(current[$0.rawValue]), kind: .counter, timestampMs: timestampMs)
        }
    }
}
