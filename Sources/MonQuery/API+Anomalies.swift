import Hummingbird
import MonCore
import MonQueryKit

extension API {
    /// `GET /api/monitoring/anomalies[?host=][&all=true]` — the key signals' anomalies
    /// against their seasonal baseline and their trends, from the latest evaluation
    /// (`anomalies.interval_seconds`). With `host`, only that host's signals (the API
    /// signals, merged over hosts, are then left out); `all=true` adds every judged series
    /// under `signals`.
    func anomaliesList(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["host", "all"])
        let host = try parameters.host()
        let all: Bool
        switch parameters["all"] {
        case nil, "false": all = false
        case "true": all = true
        case let other?: throw ParameterError("all", "'\(other.prefix(40))' is not true or false")
        }
        guard let monitor = anomalies else {
            throw APIError(
                status: .notFound, code: "anomalies_disabled",
                message: "anomaly detection is off (anomalies.enabled: false)")
        }
        let settings = monitor.settings
        let report = await monitor.latest
        let findings = (report?.findings ?? []).filter { host == nil || $0.host == host }
        let filtered = report.map { report -> AnomalyReport in
            var copy = report
            copy.findings = findings
            return copy
        }
        let insufficient = findings.filter { $0.verdict?.insufficientBaseline ?? true }.count
        var pairs: [(String, JSONValue)] = [
            ("evaluated", .bool(report != nil)),
            ("evaluated_at", report.map { .string(Timestamp.iso8601(ms: $0.evaluatedMs)) } ?? .null),
            ("host", host.map { .string($0) } ?? .null),
            ("anomalies", .array((filtered?.anomalies ?? []).map { Self.anomalyJSON($0, settings) })),
            ("trends", .array((filtered?.trends ?? []).map { Self.trendJSON($0, settings) })),
            (
                "baseline",
                .object([
                    ("basis", .string(AnomalyReport.basis(days: settings.baselineDays))),
                    ("hour_utc", report.map { .string(Self.hourOfDay($0.hourStartMs)) } ?? .null),
                    ("days", .number(Double(settings.baselineDays))),
                    (
                        "hours",
                        .array((report?.baselineHoursMs ?? []).map { .string(Timestamp.iso8601(ms: $0)) })
                    ),
                    ("min_points", .number(Double(settings.detector.minimumPoints))),
                    ("sigmas", .number(settings.detector.sigmas)),
                    ("current_window", .string(DurationText.format(seconds: settings.currentWindowSeconds))),
                    ("min_requests", .number(Double(settings.minRequests))),
                    ("series", .number(Double(findings.count))),
                    ("insufficient", .number(Double(insufficient))),
                ])
            ),
            (
                "trend",
                .object([
                    ("window", .string(DurationText.format(seconds: settings.trendWindowSeconds))),
                    ("min_change_percent", .number(settings.trend.minimumChangePercent)),
                    ("min_r2", .number(settings.trend.minimumR2)),
                ])
            ),
            (
                "failing_signals",
                .object(
                    (report?.failures ?? [:]).sorted { $0.key.rawValue < $1.key.rawValue }.map {
                        ($0.key.rawValue, .string($0.value))
                    })
            ),
        ]
        if all { pairs.append(("signals", .array(findings.map { Self.anomalyJSON($0, settings, trend: true) }))) }
        return .json(.object(pairs))
    }

    /// The summary's `anomalies` member: how many, and the three farthest from their baseline.
    func anomaliesSummary(host: String?) async -> JSONValue {
        guard let monitor = anomalies, let report = await monitor.latest else {
            return .object([("evaluated", false), ("count", .null), ("trends", .null), ("top", .array([]))])
        }
        var filtered = report
        filtered.findings = report.findings.filter { host == nil || $0.host == host }
        let found = filtered.anomalies
        return .object([
            ("evaluated", true),
            ("count", .number(Double(found.count))),
            ("trends", .number(Double(filtered.trends.count))),
            ("top", .array(found.prefix(3).map { Self.anomalyJSON($0, monitor.settings) })),
        ])
    }

    static func hourOfDay(_ ms: Int64) -> String {
        let hour = ClosedOpenRange.floor(ms, 86_400_000)
        let h = (ms - hour) / 3_600_000
        return (h < 10 ? "0" : "") + "\(h):00"
    }

    static func identity(_ finding: AnomalyFinding) -> [(String, JSONValue)] {
        [
            ("metric", .string(finding.signal.rawValue)),
            ("subject", .string(finding.subject)),
            ("host", finding.host.map { .string($0) } ?? .null),
            ("labels", .object(finding.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("unit", .string(finding.signal.unit)),
        ]
    }

    /// One judged series: current value against its baseline (values rounded to 3
    /// decimals, percentages and σ counts to 1), the suggestion, the seed's one-liner.
    static func anomalyJSON(_ finding: AnomalyFinding, _ settings: AnomalySettings, trend: Bool = false) -> JSONValue {
        let verdict = finding.verdict
        let baseline = verdict?.baseline
        func rounded(_ value: Double?, _ digits: Int) -> JSONValue {
            .number(value.map { AnomalyFinding.rounded($0, digits) })
        }
        let status =
            verdict == nil
            ? "no_current_value"
            : verdict?.insufficientBaseline == true
                ? "insufficient_baseline" : finding.isAnomalous ? "anomalous" : "normal"
        var pairs =
            identity(finding) + [
                ("status", .string(status)),
                ("current", rounded(verdict?.current, 3)),
                ("expected", rounded(baseline?.expected, 3)),
                ("scale", rounded(baseline?.scale, 3)),
                ("method", baseline.map { .string($0.method.rawValue) } ?? .null),
                ("deviation_percent", rounded(verdict?.deviationPercent, 1)),
                ("deviation_sigmas", rounded(verdict?.deviationSigmas, 1)),
                ("direction", verdict?.direction.map { .string($0.rawValue) } ?? .null),
                (
                    "baseline",
                    .object([
                        ("basis", .string(AnomalyReport.basis(days: settings.baselineDays))),
                        ("points", .number(Double(baseline?.points ?? 0))),
                    ])
                ),
                ("suggestion", verdict?.direction.map { .string(finding.signal.suggestion($0)) } ?? .null),
                ("summary", finding.summary(days: settings.baselineDays).map { .string($0) } ?? .null),
            ]
        if trend { pairs.append(("trend", finding.trend == nil ? .null : trendFields(finding, settings))) }
        return .object(pairs)
    }

    static func trendFields(_ finding: AnomalyFinding, _ settings: AnomalySettings) -> JSONValue {
        let fit = finding.trend?.fit
        return .object([
            ("flagged", .bool(finding.isTrending)),
            ("direction", finding.trend?.direction.map { .string($0.rawValue) } ?? .null),
            ("window", .string(DurationText.format(seconds: settings.trendWindowSeconds))),
            ("slope_per_hour", .number(fit.map { AnomalyFinding.rounded($0.slopePerHour, 3) })),
            ("change_percent", .number(fit?.changePercent.map { AnomalyFinding.rounded($0, 1) })),
            ("r2", .number(fit.map { AnomalyFinding.rounded($0.r2, 3) })),
            ("points", .number(Double(fit?.points ?? 0))),
        ])
    }

    /// One flagged trend: "latency rising for 30 min".
    static func trendJSON(_ finding: AnomalyFinding, _ settings: AnomalySettings) -> JSONValue {
        guard case .object(let fields) = trendFields(finding, settings) else { return .null }
        return .object(
            identity(finding) + fields.filter { $0.0 != "flagged" } + [
                (
                    "summary",
                    finding.trendSummary(windowSeconds: settings.trendWindowSeconds).map { .string($0) } ?? .null
                )
            ])
    }
}
