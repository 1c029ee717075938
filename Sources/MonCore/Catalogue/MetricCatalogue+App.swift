extension MetricCatalogue {
    /// Application signals the agent derives itself. Other application metrics (`app_…`) are
    /// not declared: `application(_:type:)` generates their help text from the StatsD kind.
    static let app: [MetricDescriptor] = [
        .histogram(
            "mon_app_request_duration_seconds", labels: ["endpoint", "method", "status", "source"],
            "Server-side request durations by normalized endpoint, method and status, from StatsD timings or access-log events (source)."
        ),
        .counter(
            "app_cache_hit_total", labels: ["cache"],
            "StatsD counter `cache.hit` from the application: cache hits, by cache type when tagged."),
        .counter(
            "app_cache_miss_total", labels: ["cache"],
            "StatsD counter `cache.miss` from the application: cache misses, by cache type when tagged."),
        .gauge(
            "app_db_pool_size", labels: ["pool"],
            "StatsD gauge `db.pool.size` from the application: its database connection pool's size (SQLAlchemy `pool.size()`, asyncpg `get_max_size()`), by `pool` tag when tagged."
        ),
        .gauge(
            "app_db_pool_checked_out", labels: ["pool"],
            "StatsD gauge `db.pool.checked_out` from the application: pool connections in use (SQLAlchemy `pool.checkedout()`, asyncpg `get_size() - get_idle_size()`)."
        ),
        .gauge(
            "app_db_pool_overflow", labels: ["pool"],
            "StatsD gauge `db.pool.overflow` from the application: connections opened beyond the pool's size (SQLAlchemy `max(pool.overflow(), 0)`)."
        ),
    ]
}
