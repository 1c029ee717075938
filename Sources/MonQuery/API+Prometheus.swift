import Hummingbird
import MonCore

extension API {
    /// `GET /metrics` — Prometheus text 0.0.4, or OpenMetrics 1.0.0 when `Accept` asks for
    /// it, gzip-compressed when `Accept-Encoding` allows; rendered from the last-value cache
    /// (no database query per scrape): every live series with `host` and its labels, the
    /// request histograms as `_bucket`/`_sum`/`_count`, the daemon's own ingest and HTTP
    /// metrics and the standard `process_*` metrics. Bounded labels only.
    func prometheus(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let nowMs = WallClock.nowMs()
        let format = PrometheusText.Format.negotiate(accept: request.headers[.accept])
        let snapshot = cache.snapshot(nowMs: nowMs)
        var out = PrometheusText(format: format, buffer: renderBuffer.take())
        out.render(cache: snapshot)
        await daemonMetrics(&out, nowMs: nowMs)
        await alertMetrics(&out)
        httpMetrics.render(into: &out)
        limitStats.render(into: &out)
        authThrottle.render(into: &out)
        Self.processMetrics(&out)
        out.finish()
        var headers: HTTPFields = [.contentType: format.contentType, .vary: "Accept, Accept-Encoding"]
        let text = out.takeBytes()
        defer { renderBuffer.giveBack(text) }
        if Gzip.isAccepted(request.headers[.acceptEncoding]), let compressed = Gzip.compress(text) {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: compressed)))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    private func daemonMetrics(_ out: inout PrometheusText, nowMs: Int64) async {
        let counters: [(String, String, Int)] = [
            ("mon_query_ingest_batches_total", "Batches stored.", await stats.batchesStored),
            (
                "mon_query_ingest_duplicate_batches_total",
                "Replayed batches already stored (acked again, not written).", await stats.batchesDuplicate
            ),
            ("mon_query_ingest_samples_total", "Samples stored.", await stats.samplesStored),
            (
                "mon_query_ingest_rejected_total",
                "Samples, events, histograms and logs refused (outside the accepted time range or invalid).",
                await stats.samplesRejected
            ),
            (
                "mon_query_ingest_store_failures_total",
                "Batches that could not be stored (not acked; the agent retries).", await stats.storeFailures
            ),
            (
                "mon_query_ingest_refused_connections_total",
                "Ingest connections refused because their user is not in ingest.allowed_users / allowed_groups.",
                await stats.refusedConnections
            ),
            (
                "mon_query_rollup_failed_passes_total", "Rollup passes that failed (retried).",
                await stats.rollupPassFailures
            ),
            (
                "mon_query_rollup_skipped_ranges_total",
                "Rollup minutes or hours passed over after their rows failed every attempt (see table rollup_skipped).",
                await stats.rollupRangesSkipped
            ),
        ]
        for (name, help, value) in counters {
            out.family(name, type: "counter", help: help)
            out.sample(name, [], Double(value))
        }
        await ingestGuardMetrics(&out)
        out.family(
            "mon_query_ingest_store_seconds", type: "summary",
            help: "Time to store one batch: one transaction, with the COPY of its samples.")
        out.sample("mon_query_ingest_store_seconds_sum", [], await stats.storeSecondsTotal)
        out.sample("mon_query_ingest_store_seconds_count", [], Double(await stats.batchesStored))
        out.family("mon_query_ingest_connections", type: "gauge", help: "Open agent connections.")
        out.sample("mon_query_ingest_connections", [], Double(await stats.openConnections))
        out.family(
            "mon_query_ingest_queue_batches", type: "gauge",
            help: "Batches received and not yet committed (the daemon's ingest queue depth).")
        out.sample("mon_query_ingest_queue_batches", [], Double(await stats.inFlightBatches))
        out.family(
            "mon_query_ingest_lag_seconds", type: "gauge",
            help: "From a batch's creation at the agent to its commit, for the last batch stored.")
        out.sample("mon_query_ingest_lag_seconds", [], await stats.lastLagSeconds)
        out.family(
            "mon_query_ingest_lag_seconds_total", type: "counter",
            help: "Sum of creation-to-commit lags of stored batches (divide by batches for the mean).")
        out.sample("mon_query_ingest_lag_seconds_total", [], await stats.lagSecondsTotal)
        let agents = await stats.agents.values.sorted { $0.agentID < $1.agentID }
        out.family("mon_query_agent_connected", type: "gauge", help: "1 while the agent is connected.")
        for agent in agents {
            out.sample(
                "mon_query_agent_connected", [("agent", agent.agentID), ("host", agent.host)], agent.connected ? 1 : 0)
        }
        out.family(
            "mon_query_agent_last_batch_age_seconds", type: "gauge",
            help: "Seconds since the agent's last stored batch.")
        for agent in agents {
            guard let last = agent.lastBatchMs else { continue }
            out.sample(
                "mon_query_agent_last_batch_age_seconds", [("agent", agent.agentID), ("host", agent.host)],
                Double(nowMs - last) / 1000)
        }
        out.family("mon_query_cached_series", type: "gauge", help: "Series in the last-value cache behind /metrics.")
        out.sample("mon_query_cached_series", [], Double(cache.count))
        out.family("mon_query_log_stream_clients", type: "gauge", help: "Connected live log stream clients.")
        out.sample("mon_query_log_stream_clients", [], Double(broadcaster.subscriberCount))
        out.family(
            "mon_query_log_stream_dropped_total", type: "counter", help: "Records dropped for slow live-stream clients."
        )
        out.sample("mon_query_log_stream_dropped_total", [], Double(broadcaster.droppedTotal))
    }

    /// What the ingest boundary refused, dropped and quarantined (issue 18), every reason
    /// present (0 until it happens) so that alert rules and dashboards see the series.
    private func ingestGuardMetrics(_ out: inout PrometheusText) async {
        let refusals = await stats.refusals
        out.family(
            "mon_query_ingest_refused_total", type: "counter",
            help:
                "Ingest connections refused, by reason: user (not allowed), token, host (not bound to the credential), agent (id bound to another host), frame (too large before HELLO), connections (cap), handshake (timeout)."
        )
        for reason in IngestRefusal.allCases {
            out.sample("mon_query_ingest_refused_total", [("reason", reason.rawValue)], Double(refusals[reason] ?? 0))
        }
        let dropped = await stats.dropped
        out.family(
            "mon_query_ingest_dropped_total", type: "counter",
            help: "Samples and records left out of stored batches, by reason (the rest of each batch is stored).")
        for reason in IngestDrop.allCases {
            out.sample("mon_query_ingest_dropped_total", [("reason", reason.rawValue)], Double(dropped[reason]))
        }
        out.family(
            "mon_query_ingest_quarantined_total", type: "counter",
            help: "Batches that can never be stored, kept in rejected_batches and acknowledged.")
        out.sample("mon_query_ingest_quarantined_total", [], Double(await stats.batchesQuarantined))
    }

    /// The standard process metrics of the Prometheus client libraries, from /proc/self.
    static func processMetrics(_ out: inout PrometheusText) {
        let proc = ProcFS()
        guard let statBytes = try? proc.read("self/stat"), let stat = try? ProcessStatParser.parse(statBytes) else {
            return
        }
        let ticks = ProcFS.clockTicksPerSecond
        out.family(
            "process_cpu_seconds_total", type: "counter", help: "Total user and system CPU time spent in seconds.")
        out.sample("process_cpu_seconds_total", [], Double(stat.cpuTicks) / ticks)
        out.family("process_resident_memory_bytes", type: "gauge", help: "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", [], Double(stat.rssPages) * Double(ProcFS.pageSize))
        if let fds = try? proc.countEntries("self/fd") {
            out.family("process_open_fds", type: "gauge", help: "Number of open file descriptors.")
            out.sample("process_open_fds", [], Double(fds))
        }
        if let procStat = try? proc.read("stat"), let boot = try? ProcStatParser.parse(procStat, userHZ: ticks).bootTime
        {
            out.family(
                "process_start_time_seconds", type: "gauge",
                help: "Start time of the process since unix epoch in seconds.")
            out.sample("process_start_time_seconds", [], Double(boot) + Double(stat.startTimeTicks) / ticks)
        }
        out.family("process_threads", type: "gauge", help: "Number of OS threads in the process.")
        out.sample("process_threads", [], Double(stat.threads))
    }
}
