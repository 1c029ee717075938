/// Sleeps until the next wall-clock-aligned tick (12:00:00, 12:00:05, ...).
///
/// A tick missed because the previous cycle overran is skipped, and counted.
public struct AlignedTicker: Sendable {
    public let intervalMs: Int64
    private var lastTick: Int64 = 0
    /// Ticks skipped because a cycle overran the interval.
    public private(set) var skipped = 0

    public init(interval: Double) { intervalMs = max(1, Int64(interval * 1000)) }

    /// The next tick's timestamp (ms), after sleeping until it; nil when cancelled.
    public mutating func next() async -> Int64? {
        let now = WallClock.nowMs()
        let tick = Self.nextTick(after: max(now, lastTick), intervalMs: intervalMs)
        do {
            try await Task.sleep(for: .milliseconds(tick - now))
        } catch {
            return nil
        }
        if lastTick > 0 { skipped += Int((tick - lastTick) / intervalMs - 1) }
        lastTick = tick
        return tick
    }

    /// The next aligned tick strictly after `nowMs`.
    public static func nextTick(after nowMs: Int64, intervalMs: Int64) -> Int64 {
        let floor = nowMs / intervalMs - (nowMs % intervalMs < 0 ? 1 : 0)
        return (floor + 1) * intervalMs
    }
}
