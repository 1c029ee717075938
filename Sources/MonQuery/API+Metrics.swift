import Hummingbird
import MonCore
import MonQueryKit

extension API {
    /// Chart metrics of `/metrics?type=system|redis|postgres`: (field, metric, label match, scale).
    static let keyMetrics: [String: [(String, String, [String: String], Double)]] = [
        "system": [
            ("cpu_usage_percent", "mon_host_cpu_usage_ratio", ["cpu": "all"], 100),
            ("memory_used_percent", "mon_host_memory_used_ratio", [:], 100),
            ("load1", "mon_host_load1", [:], 1),
        ],
        "redis": [
            ("hit_rate_percent", "mon_redis_hit_ratio", [:], 100),
            ("memory_used_percent", "mon_redis_memory_used_ratio", [:], 100),
            ("ops_per_second", "mon_redis_ops_per_second", [:], 1),
            ("evictions_per_second", "mon_redis_evictions_per_second", [:], 1),
        ],
        "postgres": [
            ("connections_used_percent", "mon_postgres_connections_used_ratio", [:], 100),
            ("cache_hit_percent", "mon_postgres_cache_hit_ratio", [:], 100),
            ("commits_per_second", "mon_postgres_commits_per_second", [:], 1),
            ("rollbacks_per_second", "mon_postgres_rollbacks_per_second", [:], 1),
        ],
    ]

    /// `GET /api/monitoring/metrics?type=api|system|redis|postgres&period=1h[&host=][&sort=][&limit=]`.
    func metrics(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["type", "period", "step", "host", "sort", "limit"])
        guard let type = parameters["type"] else {
            throw ParameterError("type", "required: one of api, system, redis, postgres")
        }
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let host = try parameters.host()
        if type == "api" { return try await apiMetrics(parameters, range: range, host: host) }
        guard let fields = Self.keyMetrics[type] else {
            throw ParameterError("type", "'\(type.prefix(40))' is not one of api, system, redis, postgres")
        }
        guard parameters["sort"] == nil else { throw ParameterError("sort", "only type=api can be sorted") }
        guard parameters["limit"] == nil else { throw ParameterError("limit", "only type=api has a list to limit") }
        let data = try await store.series(names: fields.map(\.1), host: host, range: range)
        let hosts: [JSONValue] = data.hosts.map { host in
            let series = fields.map { field in (field.0, data.first(field.1, host: host, field.2), field.3) }
            var pairs: [(String, JSONValue)] = [
                ("host", .string(host)), ("timestamp", Shape.timestamp(series.map(\.1))),
            ]
            pairs.append(("current", .object(series.map { ($0.0, Shape.latest($0.1, scale: $0.2)) })))
            pairs.append(("average", .object(series.map { ($0.0, Shape.average($0.1, scale: $0.2)) })))
            pairs.append(("series", Shape.points(series)))
            return .object(pairs)
        }
        return envelope(range, hosts: hosts, type: type)
    }

    /// Per-endpoint throughput, latency percentiles, success/error rates, top errors and series.
    private func apiMetrics(_ parameters: QueryParameters, range: TimeRange, host: String?) async throws -> Response {
        let sort = try EndpointSort(parameter: parameters["sort"])
        let limit = try parameters.limit(default: 50, maximum: 1000)
        async let stats = store.endpointStats(host: host, range: range)
        async let topErrors = store.topErrors(host: host, range: range, limit: 1000)
        async let slowTraces = store.slowTraces(host: host, range: range)
        let endpoints = sort.sorted(try await stats)
        let errors = try await topErrors
        let examples = try await slowTraces
        let period = Double(range.periodSeconds)
        let totals = EndpointStats.totals(endpoints)
        let (total, requests, serverErrors, clientErrors) = (
            totals.histogram, totals.requests, totals.serverErrors, totals.clientErrors
        )
        let body: JSONValue = .object([
            ("type", "api"),
            ("period", .string(DurationText.format(seconds: range.periodSeconds))),
            ("step", .string(DurationText.format(seconds: range.stepSeconds))),
            ("from", .string(Timestamp.iso8601(ms: range.startMs))),
            ("to", .string(Timestamp.iso8601(ms: range.endMs))),
            ("host", host.map { .string($0) } ?? .null),
            ("sort", .string(sort.rawValue)),
            (
                "totals",
                .object([
                    ("requests", .number(Double(requests))),
                    ("throughput_rps", .number(Double(requests) / period)),
                    ("latency_ms", Self.latency(total)),
                    ("success_rate_percent", Self.rate(requests - serverErrors - clientErrors, of: requests)),
                    ("error_rate_percent", Self.rate(serverErrors, of: requests)),
                    ("client_error_rate_percent", Self.rate(clientErrors, of: requests)),
                ])
            ),
            (
                "endpoints",
                .array(
                    endpoints.prefix(limit).map {
                        endpointJSON(
                            $0, errors: errors, period: period,
                            slowTrace: examples[SlowTrace.key(method: $0.method, path: $0.endpoint)])
                    })
            ),
            ("top_errors", .array(ErrorSummary.byKind(errors).prefix(10).map(Self.errorJSON))),
        ])
        return .json(body)
    }

    private func endpointJSON(
        _ endpoint: EndpointStats, errors: [ErrorSummary], period: Double, slowTrace: SlowTrace?
    ) -> JSONValue {
        let requests = endpoint.requests
        var statuses: [(String, JSONValue)] = []
        for code in endpoint.byStatus.keys.sorted() {
            statuses.append((code, .number(Double(endpoint.byStatus[code] ?? 0))))
        }
        let own = errors.filter { $0.endpoint == endpoint.endpoint }.prefix(5)
        return .object([
            ("endpoint", .string(endpoint.endpoint)),
            ("method", .string(endpoint.method)),
            ("source", endpoint.source.map { .string($0) } ?? .null),
            ("requests", .number(Double(requests))),
            ("throughput_rps", .number(Double(requests) / period)),
            ("latency_ms", Self.latency(endpoint.histogram)),
            ("success_rate_percent", Self.rate(endpoint.successes, of: requests)),
            ("error_rate_percent", Self.rate(endpoint.serverErrors, of: requests)),
            ("client_error_rate_percent", Self.rate(endpoint.clientErrors, of: requests)),
            ("status_counts", .object(statuses)),
            ("top_errors", .array(own.map(Self.errorJSON))),
            (
                "slow_trace",
                slowTrace.map {
                    .object([("trace_id", .string($0.traceID)), ("duration_ms", .number(Double($0.durationNs) / 1e6))])
                } ?? .null
            ),
            (
                "series",
                .array(
                    endpoint.points.map { point in
                        .object([
                            ("timestamp", .string(Timestamp.iso8601(ms: point.startMs))),
                            ("requests", .number(Double(point.requests))),
                            ("server_errors", .number(Double(point.serverErrors))),
                            ("p50_ms", .number(point.p50.map { $0 * 1000 })),
                            ("p95_ms", .number(point.p95.map { $0 * 1000 })),
                            ("p99_ms", .number(point.p99.map { $0 * 1000 })),
                        ])
                    })
            ),
        ])
    }

    static func latency(_ histogram: Histogram) -> JSONValue {
        guard !histogram.isEmpty else {
            return .object([("p50", .null), ("p95", .null), ("p99", .null), ("mean", .null), ("max", .null)])
        }
        return .object([
            ("p50", .number(histogram.quantile(0.50).map { $0 * 1000 })),
            ("p95", .number(histogram.quantile(0.95).map { $0 * 1000 })),
            ("p99", .number(histogram.quantile(0.99).map { $0 * 1000 })),
            ("mean", .number(histogram.sum / Double(histogram.count) * 1000)),
            ("max", .number(histogram.max * 1000)),
        ])
    }

    static func rate(_ part: Int64, of total: Int64) -> JSONValue {
        total > 0 ? .number(Double(part) / Double(total) * 100) : .null
    }

    static func errorJSON(_ error: ErrorSummary) -> JSONValue {
        .object([
            ("event", .string(error.event)),
            ("error_type", error.errorType.map { .string($0) } ?? .null),
            ("endpoint", error.endpoint.map { .string($0) } ?? .null),
            ("count", .number(Double(error.count))),
            ("last_seen", .string(Timestamp.iso8601(ms: error.lastMs))),
        ])
    }
}
