import MonCore

/// A source of samples, asked once per cycle.
///
/// Collectors are owned by one sampler task and may keep state between cycles
/// (previous counter values to derive rates). Reading is separate from parsing:
/// the parsers are pure functions, the collector turns their values into samples.
public protocol Collector: AnyObject {
    /// Short stable name used in the agent's own metrics (`collector="cpu"`).
    var name: String { get }
    /// Produces this cycle's samples, all stamped `timestampMs`.
    /// Throwing marks the collector failed for this cycle; the others still run.
    func collect(timestampMs: Int64) throws -> [Sample]
}
