import MonCore

/// What to do with one remote-write request after an attempt, as a pure state machine (no
/// clock, no network): the exporter performs the decision.
///
/// As Prometheus' own queue manager: a 2xx is sent; a 5xx, a 429 or no answer at all
/// (refused connection, timeout, TLS failure) is retried after an exponential backoff with
/// jitter, for as long as it takes (the cursor does not move, so an outage leaves no gap);
/// any other status (400 for samples too old or out of order, 401, 404 …) will never
/// succeed and the request's samples are dropped and counted.
public struct RemoteWriteRetry: Sendable {
    public enum Attempt: Sendable, Equatable {
        /// The receiver answered with this HTTP status.
        case status(Int)
        /// No answer: the connection failed or timed out (the error's text).
        case failed(String)
    }

    public enum Decision: Sendable, Equatable {
        case sent
        /// Try again after this many seconds.
        case retry(afterSeconds: Double)
        /// Give up: the request's samples are dropped, counted with `reason`.
        case drop(reason: String)
    }

    private var backoff: Backoff
    /// Failed attempts of the current request.
    public private(set) var failures = 0

    public init(minBackoffSeconds: Double, maxBackoffSeconds: Double) {
        backoff = Backoff(initial: minBackoffSeconds, maximum: maxBackoffSeconds)
    }

    /// The decision after `attempt`; `generator` draws the jitter (seeded in tests).
    public mutating func decide<G: RandomNumberGenerator>(_ attempt: Attempt, using generator: inout G) -> Decision {
        switch attempt {
        case .status(let status) where (200..<300).contains(status):
            backoff.reset()
            failures = 0
            return .sent
        case .status(let status) where status == 429 || (500..<600).contains(status):
            failures += 1
            return .retry(afterSeconds: backoff.next(using: &generator))
        case .failed:
            failures += 1
            return .retry(afterSeconds: backoff.next(using: &generator))
        case .status(let status):
            backoff.reset()
            failures = 0
            return .drop(reason: Self.dropReason(status))
        }
    }

    public mutating func decide(_ attempt: Attempt) -> Decision {
        var generator = SystemRandomNumberGenerator()
        return decide(attempt, using: &generator)
    }

    /// The `reason` label of a refused request: `http_400` … (the receiver's verdict).
    static func dropReason(_ status: Int) -> String {
        (100..<600).contains(status) ? "http_\(status)" : "http_invalid"
    }
}
