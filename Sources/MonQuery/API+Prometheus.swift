import Hummingbird
import MonCore
import MonQueryKit

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
        remoteWriteMetrics(&out)
        reportMetrics(&out)
        httpMetrics.render(into: &out)
        limitStats.render(into: &out)
        authThrottle.render(into: &out)
        Self.reloadMetrics(reloads, into: &out)
        Self.processMetrics(&out)
        Self.buildInfoMetric(&out, BuildInfo.current)
        out.family("mon_query_metrics_series_dropped")
        out.sample("mon_query_metrics_series_dropped", [], Double(out.droppedSeries))
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

    /// The configuration reloads (SIGHUP): outcomes and the time of the last success.
    static func reloadMetrics(_ stats: ConfigReloadStats, into out: inout PrometheusText) {
        out.family("mon_query_config_reloads_total", type: .counter)
        out.sample("mon_query_config_reloads_total", [("result", "ok")], Double(stats.successes))
        out.sample("mon_query_config_reloads_total", [("result", "failed")], Double(stats.failures))
        out.family("mon_query_config_last_reload_success_timestamp_seconds", type: .gauge)
        out.sample(
            "mon_query_config_last_reload_success_timestamp_seconds", [], Double(stats.lastSuccessMs) / 1000)
    }

    private func daemonMetrics(_ out: inout PrometheusText, nowMs: Int64) async {
        let counters: [(String, Int)] = [
            ("mon_query_ingest_batches_total", await stats.batchesStored),
            ("mon_query_ingest_duplicate_batches_total", await stats.batchesDuplicate),
            ("mon_query_ingest_samples_total", await stats.samplesStored),
            ("mon_query_ingest_rejected_total", await stats.samplesRejected),
            ("mon_query_ingest_store_failures_total", await stats.storeFailures),
            ("mon_query_ingest_refused_connections_total", await stats.refusedConnections),
            ("mon_query_rollup_failed_passes_total", await stats.rollupPassFailures),
            ("mon_query_rollup_skipped_ranges_total", await stats.rollupRangesSkipped),
        ]
        for (name, value) in counters {
            out.family(name, type: .counter)
            out.sample(name, [], Double(value))
        }
        await ingestGuardMetrics(&out)
        out.family("mon_query_ingest_store_seconds", type: .summary)
        out.sample("mon_query_ingest_store_seconds_sum", [], await stats.storeSecondsTotal)
        out.sample("mon_query_ingest_store_seconds_count", [], Double(await stats.batchesStored))
        out.family("mon_query_ingest_connections", type: .gauge)
        out.sample("mon_query_ingest_connections", [], Double(await stats.openConnections))
        out.family("mon_query_ingest_queue_batches", type: .gauge)
        out.sample("mon_query_ingest_queue_batches", [], Double(await stats.inFlightBatches))
        out.family("mon_query_ingest_lag_seconds", type: .gauge)
        out.sample("mon_query_ingest_lag_seconds", [], await stats.lastLagSeconds)
        out.family("mon_query_ingest_batch_lag_seconds", type: .summary)
        out.sample("mon_query_ingest_batch_lag_seconds_sum", [], await stats.lagSecondsTotal)
        out.sample("mon_query_ingest_batch_lag_seconds_count", [], Double(await stats.batchesStored))
        let agents = await stats.agents.values.sorted { $0.agentID < $1.agentID }
        out.family("mon_query_agent_connected", type: .gauge)
        for agent in agents {
            out.sample(
                "mon_query_agent_connected", [("agent", agent.agentID), ("host", agent.host)], agent.connected ? 1 : 0)
        }
        out.family("mon_query_agent_last_batch_age_seconds", type: .gauge)
        for agent in agents {
            guard let last = agent.lastBatchMs else { continue }
            out.sample(
                "mon_query_agent_last_batch_age_seconds", [("agent", agent.agentID), ("host", agent.host)],
                Double(nowMs - last) / 1000)
        }
        // For Prometheus rules: the silence in the agent's own intervals (AgentSilent).
        out.family("mon_query_agent_interval_seconds", type: .gauge)
        for agent in agents {
            guard let interval = agent.effectiveIntervalMs else { continue }
            out.sample(
                "mon_query_agent_interval_seconds", [("agent", agent.agentID), ("host", agent.host)], interval / 1000)
        }
        if let lease {
            let states = lease.snapshot
            out.family("mon_query_lease_held", type: .gauge)
            for job in Lease.Job.allCases {
                out.sample("mon_query_lease_held", [("job", job.description)], states[job]?.held == true ? 1 : 0)
            }
            out.family("mon_query_lease_takeovers_total", type: .counter)
            for job in Lease.Job.allCases {
                out.sample(
                    "mon_query_lease_takeovers_total", [("job", job.description)],
                    Double(states[job]?.acquisitions ?? 0))
            }
        }
        out.family("mon_query_cached_series", type: .gauge)
        out.sample("mon_query_cached_series", [], Double(cache.count))
        out.family("mon_query_log_stream_clients", type: .gauge)
        out.sample("mon_query_log_stream_clients", [], Double(broadcaster.subscriberCount))
        out.family("mon_query_log_stream_dropped_total", type: .counter)
        out.sample("mon_query_log_stream_dropped_total", [], Double(broadcaster.droppedTotal))
    }

    /// What the ingest boundary refused, dropped and quarantined (issue 18), every reason
    /// present (0 until it happens) so that alert rules and dashboards see the series.
    private func ingestGuardMetrics(_ out: inout PrometheusText) async {
        let refusals = await stats.refusals
        out.family("mon_query_ingest_refused_total", type: .counter)
        for reason in IngestRefusal.allCases {
            out.sample("mon_query_ingest_refused_total", [("reason", reason.rawValue)], Double(refusals[reason] ?? 0))
        }
        let dropped = await stats.dropped
        out.family("mon_query_ingest_dropped_total", type: .counter)
        for reason in IngestDrop.allCases {
            out.sample("mon_query_ingest_dropped_total", [("reason", reason.rawValue)], Double(dropped[reason]))
        }
        out.family("mon_query_ingest_quarantined_total", type: .counter)
        out.sample("mon_query_ingest_quarantined_total", [], Double(await stats.batchesQuarantined))
    }

    /// `mon_build_info{version,revision,swift_version} 1`, as Prometheus' own `*_build_info`.
    static func buildInfoMetric(_ out: inout PrometheusText, _ build: BuildInfo) {
        out.family("mon_build_info", type: .gauge)
        out.sample(
            "mon_build_info",
            [("version", build.version), ("revision", build.revision), ("swift_version", build.swiftVersion)], 1)
    }

    /// The standard process metrics of the Prometheus client libraries, from /proc/self.
    static func processMetrics(_ out: inout PrometheusText) {
        let proc = ProcFS()
        guard let statBytes = try? proc.read("self/stat"), let stat = try? ProcessStatParser.parse(statBytes) else {
            return
        }
        let ticks = ProcFS.clockTicksPerSecond
        out.family("process_cpu_seconds_total", type: .counter)
        out.sample("process_cpu_seconds_total", [], Double(stat.cpuTicks) / ticks)
        out.family("process_resident_memory_bytes", type: .gauge)
        out.sample("process_resident_memory_bytes", [], Double(stat.rssPages) * Double(ProcFS.pageSize))
        if let fds = try? proc.countEntries("self/fd") {
            out.family("process_open_fds", type: .gauge)
            out.sample("process_open_fds", [], Double(fds))
        }
        if let procStat = try? proc.read("stat"), let boot = try? ProcStatParser.parse(procStat, userHZ: ticks).bootTime
        {
            out.family("process_start_time_seconds", type: .gauge)
            out.sample("process_start_time_seconds", [], Double(boot) + Double(stat.startTimeTicks) / ticks)
        }
        out.family("process_threads", type: .gauge)
        out.sample("process_threads", [], Double(stat.threads))
    }
}
