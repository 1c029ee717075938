/// Exponential backoff with full jitter (the AWS architecture blog's "full jitter").
public struct Backoff: Sendable {
    public var initial: Double
    public var maximum: Double
    private var attempt = 0

    /// Delays in seconds: `initial` doubled per attempt, capped at `maximum`.
    public init(initial: Double = 0.1, maximum: Double = 10) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The ceiling of the next delay, before jitter.
    public var ceiling: Double { min(maximum, initial * Double(1 << min(attempt, 30))) }

    /// Next delay in seconds, uniformly in [ceiling/2, ceiling].
    public mutating func next<G: RandomNumberGenerator>(using generator: inout G) -> Double {
        let top = ceiling
        attempt += 1
        return Double.random(in: (top / 2)...top, using: &generator)
    }

    public mutating func next() -> Double {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    public mutating func reset() { attempt = 0 }
}
