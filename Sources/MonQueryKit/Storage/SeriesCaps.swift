import MonCore

/// How many series the daemon creates: `ingest.max_series_per_host` (default 100 000) and
/// `ingest.max_series` (default 1 000 000), counted in `metric_series`. A new series past
/// either is dropped and counted (`mon_query_ingest_dropped_total{reason="series_cap_…"}`);
/// series that exist keep flowing. Series are never deleted by the daemon: a host at its cap
/// stays there until its unwanted series are deleted from `metric_series` or the cap is raised.
public struct SeriesCaps: Sendable, Equatable {
    public var perHost: Int
    public var total: Int

    public init(perHost: Int = 100_000, total: Int = 1_000_000) {
        self.perHost = perHost
        self.total = total
    }
}
