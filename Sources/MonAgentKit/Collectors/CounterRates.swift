import MonCore

/// Derives per-second rates from cumulative counters between two cycles.
///
/// Keyed by an arbitrary string (metric name plus labels). A counter that goes
/// down (reset, process restart, device re-attached) yields no rate for that
/// cycle instead of a negative one.
public struct CounterRates {
    private struct Reading {
        var timestampMs: Int64
        var value: Double
    }

    private var previous: [String: Reading] = [:]
    private var seenThisCycle: Set<String> = []

    public init() {}

    /// Records `value` at `timestampMs` and returns the rate per second since the
    /// previous reading of `key`, or nil on the first reading or after a reset.
    public mutating func rate(_ key: String, value: Double, timestampMs: Int64) -> Double? {
        seenThisCycle.insert(key)
        let old = previous.updateValue(Reading(timestampMs: timestampMs, value: value), forKey: key)
        guard let old, timestampMs > old.timestampMs, value >= old.value else { return nil }
        return (value - old.value) / (Double(timestampMs - old.timestampMs) / 1000)
    }

    /// Forgets keys not seen since the last call, so vanished devices and
    /// processes do not accumulate. Call once at the end of each cycle.
    public mutating func endCycle() {
        if previous.count != seenThisCycle.count {
            previous = previous.filter { seenThisCycle.contains($0.key) }
        }
        seenThisCycle.removeAll(keepingCapacity: true)
    }
}
