import MonCore

/// The fleet-wide reads of the last minutes that the summary's cards, the alert rules and
/// the anomaly monitor each made on their own, made once for every reader of a moment: the
/// request statistics (one scan of the request-duration histograms, per host and per
/// endpoint, `QueryStore.fleetRequestStats`) and counter increases (`QueryStore.increase`
/// of every host). At 800 hosts the request scan took 1.7 s of PostgreSQL ~37 times every 2
/// minutes, and the counter increases ~0.6 s ~100 times (BENCHMARKS.md, "Hosts per daemon",
/// issue 21).
///
/// A read is reused while it is younger than 10 × as long as it took, at least `minAgeMs`,
/// at most `maxAgeMs` or 1/120 of its window if that is longer (a 1-hour increase: 30 s),
/// counted from when it started: a small fleet's figures stay a second fresh, a large fleet's
/// are read at most every 10 s. A caller finding no read that young joins the one in flight
/// if that one is, or starts one. A failed read is forgotten at once.
public final class FleetReads: Sendable {
    /// One request-statistics read: per host, every endpoint merged as one `EndpointStats`
    /// with endpoint `*` (`QueryStore.endpointStatsByHost`'s answer); per endpoint, every host
    /// merged (`QueryStore.endpointStats(perStep: false)`'s answer).
    public struct Figures: Sendable {
        public var range: TimeRange
        public var byHost: [String: [EndpointStats]]
        public var byEndpoint: [EndpointStats]

        public init(range: TimeRange, byHost: [String: [EndpointStats]], byEndpoint: [EndpointStats]) {
            (self.range, self.byHost, self.byEndpoint) = (range, byHost, byEndpoint)
        }
    }

    /// A counter's increase per series of every host (`QueryStore.increase`).
    public typealias Increase = [(host: String, labels: [String: String], value: Double)]

    public let minAgeMs: Int64
    public let maxAgeMs: Int64
    private let readFigures: @Sendable (TimeRange) async throws -> Figures
    private let readIncrease: @Sendable (String, TimeRange) async throws -> Increase
    private let figureReads: SharedReads<Int64, Figures>
    private let increaseReads: SharedReads<String, Increase>

    public init(
        minAgeMs: Int64 = 1000, maxAgeMs: Int64 = 10_000,
        readFigures: @escaping @Sendable (TimeRange) async throws -> Figures,
        readIncrease: @escaping @Sendable (String, TimeRange) async throws -> Increase
    ) {
        self.minAgeMs = minAgeMs
        self.maxAgeMs = max(minAgeMs, maxAgeMs)
        self.readFigures = readFigures
        self.readIncrease = readIncrease
        figureReads = SharedReads(minAgeMs: minAgeMs, maxAgeMs: self.maxAgeMs)
        increaseReads = SharedReads(minAgeMs: minAgeMs, maxAgeMs: self.maxAgeMs)
    }

    /// Reads from `store` (a connection of their own: the alert rules and the anomaly monitor
    /// run beside the API).
    public convenience init(store: QueryStore, minAgeMs: Int64 = 1000, maxAgeMs: Int64 = 10_000) {
        self.init(
            minAgeMs: minAgeMs, maxAgeMs: maxAgeMs,
            readFigures: { range in try await store.fleetRequestStats(range: range) },
            readIncrease: { name, range in try await store.increase(name: name, host: nil, range: range) })
    }

    /// Reads started, request statistics and increases (tests check the sharing).
    public var reads: (figures: Int, increases: Int) { (figureReads.reads, increaseReads.reads) }

    /// The request statistics of every host over the last `windowSeconds` at `nowMs`.
    public func figures(windowSeconds: Int64, nowMs: Int64) async throws -> Figures {
        try await figureReads.value(windowSeconds, windowSeconds: windowSeconds, nowMs: nowMs, read: readFigures)
    }

    /// The increase of counter `name` over the last `windowSeconds` at `nowMs`, per series of every host.
    public func increase(name: String, windowSeconds: Int64, nowMs: Int64) async throws -> Increase {
        try await increaseReads.value(name, windowSeconds: windowSeconds, nowMs: nowMs) { [readIncrease] range in
            try await readIncrease(name, range)
        }
    }
}
