import Logging
import MonCore

/// Evaluates the key signals (`anomalies.signals`) and keeps the latest report for the
/// API, the summary and the alert rules that opt in (`anomaly_*` signals).
///
/// For each series: the current value (over `anomalies.current_window`, from the raw and
/// 1-minute tables), its seasonal baseline (the same hour of day on each of the previous
/// `anomalies.baseline_days` days, from the 1-hour rollups) judged by `AnomalyDetector`,
/// and its trend (one point a minute over `anomalies.trend_window`) judged by `TrendDetector`.
public actor AnomalyMonitor {
    public nonisolated let settings: AnomalySettings
    let store: QueryStore
    /// The fleet's request statistics shared with the summary and the alert rules (nil: the
    /// current window of the API signals is read here).
    let fleet: FleetReads?
    let logger: Logger
    public private(set) var latest: AnomalyReport?
    private var failing: Set<AnomalySignal> = []

    public init(settings: AnomalySettings, store: QueryStore, fleet: FleetReads? = nil, logger: Logger) {
        self.settings = settings
        self.store = store
        self.fleet = fleet
        self.logger = logger
    }

    /// The hours the baseline reads for `nowMs`: the start of the current hour on each of
    /// the previous `days` days, most recent first (UTC, 24 h apart).
    public static func baselineHours(nowMs: Int64, days: Int) -> (hourStartMs: Int64, hours: [Int64]) {
        let hour = ClosedOpenRange.floor(nowMs, 3_600_000)
        return (hour, (1...max(1, days)).map { hour - Int64($0) * 86_400_000 })
    }

    /// One evaluation of every configured signal; the report is kept as `latest`.
    @discardableResult
    public func evaluate(nowMs: Int64) async -> AnomalyReport {
        let (hourStart, hours) = Self.baselineHours(nowMs: nowMs, days: settings.baselineDays)
        var findings: [AnomalyFinding] = []
        var failures: [AnomalySignal: String] = [:]
        let reader = SignalReader(
            store: store, fleet: fleet, settings: settings, nowMs: nowMs, baselineHoursMs: hours)
        var groups: [[AnomalySignal]] = []
        let api = settings.signals.filter { !$0.isPerHost }
        if !api.isEmpty { groups.append(api) }
        groups += settings.signals.filter(\.isPerHost).map { [$0] }
        for group in groups {
            do {
                for (signal, inputs) in try await reader.inputs(group) {
                    findings.append(judge(signal, inputs))
                }
                for signal in group where failing.remove(signal) != nil {
                    logger.info("anomaly signal readable again", metadata: ["signal": "\(signal.rawValue)"])
                }
            } catch {
                for signal in group {
                    failures[signal] = "\(error)"
                    if failing.insert(signal).inserted {
                        logger.warning(
                            "anomaly signal cannot be evaluated",
                            metadata: ["signal": "\(signal.rawValue)", "error": "\(error)"])
                    }
                }
            }
        }
        let report = AnomalyReport(
            evaluatedMs: nowMs, hourStartMs: hourStart, baselineHoursMs: hours, findings: findings,
            failures: failures)
        latest = report
        return report
    }

    func judge(_ signal: AnomalySignal, _ inputs: SignalReader.Inputs) -> AnomalyFinding {
        AnomalyFinding(
            signal: signal, host: inputs.host, labels: inputs.labels,
            verdict: inputs.current.map {
                settings.detector.evaluate(current: $0, baseline: inputs.baseline, minimumScale: signal.minimumScale)
            },
            trend: settings.trend.evaluate(inputs.trend))
    }

    /// The signed deviation, in baseline spreads, of every judged series of `signal` per
    /// host (`*` for the API signals): for alert rules with an `anomaly_*` signal.
    public func deviations(_ signal: AnomalySignal) -> [String: [Double]] {
        var byHost: [String: [Double]] = [:]
        for finding in latest?.findings ?? [] where finding.signal == signal {
            guard let verdict = finding.verdict, !verdict.insufficientBaseline, let sigmas = verdict.deviationSigmas
            else { continue }
            byHost[finding.host ?? "*", default: []].append(sigmas)
        }
        return byHost
    }
}
