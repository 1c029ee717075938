import Synchronization

/// Outcomes of the configuration reloads (SIGHUP) since start, for `/metrics`:
/// `mon_query_config_reloads_total{result}` and the time of the last successful one.
public final class ConfigReloadStats: Sendable {
    private let succeeded = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    /// Wall-clock milliseconds of the last successful reload, or of the start (the first load
    /// is a success too, as Prometheus counts its own).
    private let lastSuccess: Atomic<Int64>

    public init(startedMs: Int64) { lastSuccess = Atomic(startedMs) }

    public func recordSuccess(nowMs: Int64) {
        succeeded.add(1, ordering: .relaxed)
        lastSuccess.store(nowMs, ordering: .relaxed)
    }

    public func recordFailure() { refused.add(1, ordering: .relaxed) }

    public var successes: Int { succeeded.load(ordering: .relaxed) }
    public var failures: Int { refused.load(ordering: .relaxed) }
    public var lastSuccessMs: Int64 { lastSuccess.load(ordering: .relaxed) }
}
