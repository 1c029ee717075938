extension MetricCatalogue {
    /// monagent's own health: cycles, collectors, queue, spool, shipping, StatsD and log intake.
    static let agent: [MetricDescriptor] = [
        .gauge(
            "mon_agent_collector_duration_seconds", labels: ["collector"], "Time the collector took in the last cycle."),
        .gauge(
            "mon_agent_collector_success", labels: ["collector"],
            "1 when the collector's last run succeeded, 0 if it threw."),
        .gauge("mon_agent_cycle_duration_seconds", "Time the last collection cycle took, all collectors."),
        .counter("mon_agent_cycles_skipped_total", "Collection ticks skipped because a cycle overran its interval."),
        .gauge("mon_agent_queue_batches", "Batches waiting to be shipped to monquery."),
        .counter("mon_agent_queue_dropped_total", "Batches dropped because the queue was full."),
        .counter("mon_agent_batches_split_total", "Batches split to stay under the frame size limit."),
        .counter(
            "mon_agent_series_truncated_total", "Metric names or labels cut or renamed to fit the series key limits."),
        .counter("mon_agent_oversized_records_dropped_total", "Records larger than a frame, dropped."),
        .counter(
            "mon_agent_ingest_welcome_ahead_total", "Handshakes where monquery acknowledged more than the agent sent."),
        .gauge("mon_agent_spool_bytes", "Bytes of the on-disk spool."),
        .gauge("mon_agent_spool_memory_bytes", "Bytes of spooled batches held in memory."),
        .gauge("mon_agent_spool_segments", "Segment files of the spool."),
        .gauge("mon_agent_spool_recovered_batches", "Batches recovered from the spool at start."),
        .counter("mon_agent_spool_dropped_total", "Spooled batches dropped to stay within the spool's size cap."),
        .counter("mon_agent_spool_torn_records_total", "Torn or corrupt spool records skipped on recovery."),
        .counter("mon_agent_spool_write_errors_total", "Failed writes to the spool."),
        .counter("mon_agent_statsd_datagrams_total", "StatsD datagrams received."),
        .counter("mon_agent_statsd_lines_total", "StatsD lines parsed."),
        .counter("mon_agent_statsd_malformed_total", "StatsD lines or values refused as malformed."),
        .counter("mon_agent_statsd_truncated_total", "StatsD datagrams cut at the maximum datagram size."),
        .counter("mon_agent_statsd_ignored_total", "StatsD lines of a type the agent does not aggregate."),
        .counter("mon_agent_statsd_dropped_total", "StatsD lines dropped because statsd.max_metrics was reached."),
        .counter(
            "mon_agent_statsd_folded_total",
            "StatsD lines folded into the metric's overflow series because statsd.max_tag_sets was reached."),
        .counter("mon_agent_statsd_receive_errors_total", "Errors receiving StatsD datagrams."),
        .counter("mon_agent_logs_lines_total", "Log lines read from tailed files."),
        .counter("mon_agent_logs_plain_lines_total", "Log lines that were not JSON (kept as plain text)."),
        .counter("mon_agent_logs_invalid_utf8_total", "Log lines with invalid UTF-8 (repaired)."),
        .counter("mon_agent_logs_truncated_lines_total", "Log lines cut at the maximum line length."),
        .counter("mon_agent_logs_redactions_total", "Secrets redacted from log lines."),
        .counter("mon_agent_logs_request_events_total", "Access-log events turned into request observations."),
        .counter("mon_agent_logs_rotations_total", "Log file rotations followed."),
        .counter("mon_agent_logs_truncations_total", "Log files truncated in place and read again from the start."),
        .counter("mon_agent_logs_read_errors_total", "Errors reading tailed log files."),
        .counter(
            "mon_agent_logs_read_pauses_total",
            "Log polls put off while the log batches waiting for the daemon's ack were at their limit (the files wait)."
        ),
        .counter(
            "mon_agent_log_files_refused_total", labels: ["reason"], "Log paths not followed, by reason (e.g. symlink)."
        ),
        .counter(
            "mon_agent_traces_requests_total", labels: ["result"],
            "OTLP/HTTP trace export requests, by result (accepted, partial, bad_request, too_large, unsupported_media_type, not_found, method_not_allowed, overloaded)."
        ),
        .counter("mon_agent_traces_spans_received_total", "Spans received over OTLP (accepted and rejected)."),
        .counter(
            "mon_agent_traces_spans_rejected_total", labels: ["reason"],
            "Spans refused one by one (answered in the partial success), by reason (e.g. invalid_trace_id)."),
        .counter("mon_agent_traces_bytes_total", "Bytes of OTLP request bodies received (as sent, before inflating)."),
        .counter("mon_agent_traces_redactions_total", "Secrets redacted from span attributes, events and statuses."),
        .counter(
            "mon_agent_traces_truncations_total",
            "Span strings, attributes or events cut or left out to stay within the intake's bounds."),
        .counter(
            "mon_agent_traces_connections_refused_total",
            "OTLP connections closed at once because traces.max_connections were open and none was idle."),
        .counter(
            "mon_agent_traces_connections_evicted_total",
            "Idle OTLP connections closed to make room for a new one (traces.max_connections were open)."),
        .counter(
            "mon_agent_requests_deduplicated_total", labels: ["source"],
            "Requests dropped because another source already counted them."),
        .counter(
            "mon_agent_requests_services_overflow_total",
            "Request timings whose service the de-duplication could not track (more services than its cap)."),
    ]
}
