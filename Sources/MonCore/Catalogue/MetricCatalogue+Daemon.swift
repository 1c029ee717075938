extension MetricCatalogue {
    /// monquery's own metrics and the standard process metrics.
    static let daemon: [MetricDescriptor] = [
        .counter("mon_query_ingest_batches_total", "Batches stored."),
        .counter(
            "mon_query_ingest_duplicate_batches_total", "Replayed batches already stored (acked again, not written)."),
        .counter("mon_query_ingest_samples_total", "Samples stored."),
        .counter(
            "mon_query_ingest_rejected_total",
            "Samples, events, histograms and logs refused (outside the accepted time range or invalid)."),
        .counter(
            "mon_query_ingest_store_failures_total", "Batches that could not be stored (not acked; the agent retries)."),
        .counter(
            "mon_query_ingest_refused_connections_total",
            "Ingest connections refused because their user is not in ingest.allowed_users / allowed_groups."),
        .counter("mon_query_rollup_failed_passes_total", "Rollup passes that failed (retried)."),
        .gauge(
            "mon_query_lease_held", labels: ["job"],
            "1 while this daemon holds the job's lease (partitions, rollups, alerts; several daemons on one database), as of its last claim."
        ),
        .counter(
            "mon_query_lease_takeovers_total", labels: ["job"],
            "Times this daemon took a job's lease (at start, or over from a daemon that died or lost its session)."),
        .counter(
            "mon_query_rollup_skipped_ranges_total",
            "Rollup minutes or hours passed over after their rows failed every attempt (see table rollup_skipped)."),
        .counter(
            "mon_query_ingest_refused_total", labels: ["reason"],
            "Ingest connections refused, by reason: user (not allowed), token, host (not bound to the credential), agent (id bound to another host), frame (too large before HELLO), connections (cap), handshake (timeout)."
        ),
        .counter(
            "mon_query_ingest_dropped_total", labels: ["reason"],
            "Samples and records left out of stored batches, by reason (the rest of each batch is stored)."),
        .counter(
            "mon_query_ingest_quarantined_total",
            "Batches that can never be stored, kept in rejected_batches and acknowledged."
        ),
        .summary(
            "mon_query_ingest_store_seconds", "Time to store one batch: one transaction, with the COPY of its samples."),
        .gauge("mon_query_ingest_connections", "Open agent connections."),
        .gauge(
            "mon_query_ingest_queue_batches",
            "Batches received and not yet committed (the daemon's ingest queue depth)."),
        .gauge(
            "mon_query_ingest_lag_seconds",
            "From a batch's creation at the agent to its commit, for the last batch stored."
        ),
        .summary(
            "mon_query_ingest_batch_lag_seconds",
            "Creation-to-commit lags of stored batches (_sum / _count is the mean); was the counter mon_query_ingest_lag_seconds_total."
        ),
        .gauge("mon_query_agent_connected", labels: ["agent", "host"], "1 while the agent is connected."),
        .gauge(
            "mon_query_agent_last_batch_age_seconds", labels: ["agent", "host"],
            "Seconds since the agent's last stored batch."
        ),
        .gauge(
            "mon_query_agent_interval_seconds", labels: ["agent", "host"],
            "The agent's collection interval (declared in HELLO, else measured): age / interval is the AgentSilent rule's signal."
        ),
        .gauge("mon_query_cached_series", "Series in the last-value cache behind /metrics."),
        .gauge(
            "mon_query_metrics_series_dropped",
            "Series left out of this /metrics response because their family name collided with another family's."),
        .gauge("mon_query_log_stream_clients", "Connected live log stream clients."),
        .counter("mon_query_log_stream_dropped_total", "Records dropped for slow live-stream clients."),
        .histogram(
            "mon_query_http_request_duration_seconds", labels: ["route", "method", "status"],
            "HTTP requests served, by route pattern, method and status."),
        .gauge("mon_query_http_connections", "Open HTTP connections."),
        .gauge(
            "mon_query_http_stream_subscribers",
            "Live Server-Sent Events streams (logs and alerts), at most http.max_stream_subscribers."),
        .counter(
            "mon_query_http_refused_total", labels: ["reason"],
            "HTTP requests or connections refused by a limit or a non-canonical request target, by reason."),
        .counter(
            "mon_query_http_idle_closed_total",
            "HTTP connections closed after http.idle_timeout_seconds without a request in progress."),
        .counter(
            "mon_query_auth_failures_total", labels: ["kind"],
            "Credentials refused: bearer tokens matching no configured hash, failed dashboard logins."),
        .counter(
            "mon_query_auth_throttled_total",
            "Requests answered 429 because their client address failed too often (auth.max_failures_per_minute)."),
        .gauge(
            "mon_query_auth_throttle_addresses",
            "Client addresses with recent failures tracked by the throttle (at most auth.throttle_max_addresses)."),
        .counter(
            "mon_query_auth_throttle_evictions_total",
            "Addresses forgotten by the throttle to stay within auth.throttle_max_addresses."),
        .counter(
            "mon_query_config_reloads_total", labels: ["result"],
            "Configuration reloads (SIGHUP, systemctl reload), by result: ok (applied), failed (refused, the running configuration kept)."
        ),
        .gauge(
            "mon_query_config_last_reload_success_timestamp_seconds",
            "When the configuration in force was last loaded successfully (at start, then each reload applied), since the Unix epoch."
        ),
        .gauge("mon_alerts", labels: ["rule", "severity", "host"], "1 for each firing alert of monquery's rules."),
        .gauge("mon_alerts_pending", "Alerts whose condition holds but not yet for the rule's `for` duration."),
        .gauge(
            "mon_build_info", labels: ["version", "revision", "swift_version"],
            "Always 1: the version, git revision and Swift compiler monquery was built with (--version)."),
        .counter(
            "mon_query_alert_notifications_total", labels: ["notifier", "outcome"],
            "Alert notifications per notifier (webhook, alertmanager): sent (answered 2xx) or dropped after the last attempt."
        ),
        .counter(
            "mon_query_alert_notification_failures_total", labels: ["notifier"],
            "Failed notification attempts (an error status, no answer), each retried with backoff or the last one."),
        .counter(
            "mon_query_remote_write_samples_sent_total", labels: ["destination"],
            "Samples a remote-write destination (export.remote_write) accepted (answered 2xx)."),
        .counter(
            "mon_query_remote_write_samples_failed_total", labels: ["destination"],
            "Samples of remote-write requests that failed (5xx, 429, no answer) and were retried with backoff."),
        .counter(
            "mon_query_remote_write_samples_dropped_total", labels: ["destination", "reason"],
            "Samples given up: refused by the receiver (reason http_<status>, e.g. http_400 for too old or out of order), older than the series' last sent sample (out_of_order), or unencodable (encoding)."
        ),
        .gauge(
            "mon_query_remote_write_pending_batches", labels: ["destination"],
            "Ingest batches stored but not yet exported to the destination (its queue depth)."),
        .gauge(
            "mon_query_remote_write_pending_samples", labels: ["destination"],
            "Samples of the batches not yet exported to the destination."),
        .gauge(
            "mon_query_remote_write_lag_seconds", labels: ["destination"],
            "Age of the oldest batch not yet exported to the destination (0 when caught up)."),
        .gauge(
            "mon_query_remote_write_last_success_timestamp_seconds", labels: ["destination"],
            "When the destination last accepted a request, since the Unix epoch (absent before the first)."),
        .counter(
            "mon_query_reports_made_total",
            "Scheduled PDF reports (reports.daily / reports.weekly) this daemon made and stored since it started."),
        .counter(
            "mon_query_report_mails_total", labels: ["outcome"],
            "Report e-mails since start: sent (the SMTP server accepted them) or given_up (after the last retry)."),
        .counter(
            "mon_query_report_mail_failures_total",
            "Failed report e-mail delivery attempts (connection, TLS, AUTH, timeout, refusal), each retried or given up."
        ),
        .gauge(
            "mon_query_report_mails_pending",
            "Report e-mails waiting for their first attempt or a retry, as the lease holder last counted them."),
        .gauge(
            "mon_query_report_mail_last_success_timestamp_seconds",
            "When this daemon last delivered a report e-mail, since the Unix epoch (absent before the first)."),
        .counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
        .gauge("process_resident_memory_bytes", "Resident memory size in bytes."),
        .gauge("process_open_fds", "Number of open file descriptors."),
        .gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
        .gauge("process_threads", "Number of OS threads in the process."),
    ]
}
