import Foundation
import MonCore
import Yams

/// One alert rule: a signal per host, compared with a threshold, held for a while.
///
/// ```yaml
/// - name: RedisHitRateLow
///   metric: mon_redis_hit_ratio      # or signal: api_error_rate_percent
///   labels: {}                       # only series with these labels
///   aggregate: avg                   # last | avg | max | min | increase | rate
///   window: 5m
///   scale: 100                       # the value is multiplied by this (ratio → percent)
///   op: "<"                          # > >= < <=
///   threshold: 70
///   resolve: 75                      # hysteresis: resolved once past this (default: threshold)
///   for: 1m                          # held this long before firing (default 0)
///   severity: warning                # warning | critical
///   summary: "Redis hit rate {{value}} % < {{threshold}} %: cache ineffective"
///   hint: "TTL too short, or keys changed shape?"
///   repeat: 4h                       # webhook repeat while firing (default 4h)
///   detail: postgres_blockers        # what {{detail}} says (see `AlertRule.Detail`)
/// ```
public struct AlertRule: Sendable, Equatable {
    public enum Aggregate: String, Sendable, CaseIterable {
        /// Latest value (from the daemon's in-memory cache; no query).
        case last
        case avg, max, min
        /// Counter increase over the window.
        case increase
        /// Counter increase per second.
        case rate
    }

    public enum Comparison: String, Sendable, CaseIterable {
        case above = ">"
        case atLeast = ">="
        case below = "<"
        case atMost = "<="

        public func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .above: value > threshold
            case .atLeast: value >= threshold
            case .below: value < threshold
            case .atMost: value <= threshold
            }
        }

        /// Past the resolve threshold, back on the good side.
        public func resolved(_ value: Double, _ resolve: Double) -> Bool {
            switch self {
            case .above, .atLeast: value < resolve
            case .below, .atMost: value > resolve
            }
        }

        /// Several series of one host: the worst one counts.
        public func worst(_ values: [Double]) -> Double? {
            switch self {
            case .above, .atLeast: values.max()
            case .below, .atMost: values.min()
            }
        }
    }

    public enum Signal: Sendable, Equatable {
        case metric(name: String, labels: [String: String], aggregate: Aggregate)
        /// Computed by the daemon, see `AlertRule.builtins`.
        case builtin(String)
    }

    /// Signals the daemon computes itself, per host.
    public static let builtins: [String: String] = [
        "api_latency_p95_ms": "95th percentile of request durations over the window (ms)",
        "api_latency_p99_ms": "99th percentile of request durations over the window (ms)",
        "api_error_rate_percent": "share of 5xx responses over the window (%), hosts with at least min_requests",
        "api_requests_per_second": "requests per second over the window",
        "agent_silence_intervals": "time since the agent's last batch, in its own collection intervals (≥ 1 s each)",
        "ingest_lag_seconds": "batch creation at the agent to commit in PostgreSQL, last batch (host: monquery)",
        "filesystem_hours_to_full":
            "hours until a file system's available space reaches 0 at the window's steady rate (the soonest mount point; 8760 when none fills steadily)",
    ].merging(anomalyBuiltins.map { ($0.key, $0.value.help) }) { $1 }

    /// `anomaly_<key signal>`: the signed deviation of the signal from its seasonal baseline,
    /// in baseline spreads (σ), from the latest anomaly evaluation (`anomalies.*`; the rule's
    /// window is not used). Per host; `*` for the API signals, merged over hosts.
    public static let anomalyBuiltins: [String: (signal: AnomalySignal, help: String)] = Dictionary(
        uniqueKeysWithValues: AnomalySignal.allCases.map { signal in
            (
                "anomaly_\(signal.rawValue)",
                (
                    signal,
                    "deviation of \(signal.rawValue) from the same hour on previous days, in σ (anomalies.*; host * for API signals)"
                )
            )
        })

    /// The anomaly signal this rule reads, if any.
    public var anomalySignal: AnomalySignal? {
        guard case .builtin(let name) = signal else { return nil }
        return Self.anomalyBuiltins[name]?.signal
    }

    public enum Severity: String, Sendable, CaseIterable {
        case warning, critical
    }

    /// Where the summary's `{{detail}}` comes from, per host (`detail:` in a rule; without
    /// it `{{detail}}` is empty).
    public enum Detail: String, Sendable, CaseIterable {
        /// The blocker of the host's largest PostgreSQL blocking tree, from the agent's
        /// `pg_locks` report of its latest cycle: "blocked by pid 1234 (idle in transaction
        /// for 95 s: UPDATE items SET …), 3 waiting"; "blocker unknown" without one.
        case postgresBlockers = "postgres_blockers"
    }

    public var name: String
    public var signal: Signal
    public var windowSeconds: Int64
    public var scale: Double
    public var comparison: Comparison
    public var threshold: Double
    public var resolveThreshold: Double
    public var forSeconds: Int64
    public var severity: Severity
    public var summary: String
    public var hint: String
    public var repeatSeconds: Int64
    /// For API rules: hosts with fewer requests in the window are not judged.
    public var minRequests: Int64
    /// `rules.d/redis.yaml:12`, for messages.
    public var origin: String
    /// What `{{detail}}` says, if anything.
    public var detail: Detail? = nil

    /// One line for `monquery check-config`: name, signal, condition, hold, severity, origin.
    public var checkConfigLine: String {
        let source: String
        switch signal {
        case .metric(let name, let labels, let aggregate):
            let selector = labels.isEmpty ? "" : "{\(Self.labelsText(labels))}"
            source = "\(aggregate)(\(name)\(selector))"
        case .builtin(let name):
            source = name
        }
        let scaled = scale == 1 ? "" : " ×\(Self.number(scale))"
        return "\(name): \(source)\(scaled) \(comparison.rawValue) \(Self.number(threshold)) for \(forSeconds)s "
            + "[\(severity.rawValue)] (\(origin))"
    }

    /// This rule with `for` multiplied by `scale` (`alerts.for_scale`): whole seconds, at least
    /// 1 where it was not 0, so a scaled rule still needs two evaluations to fire.
    public func scalingFor(by scale: Double) -> AlertRule {
        guard forSeconds > 0, scale != 1 else { return self }
        var rule = self
        rule.forSeconds = max(1, Int64((Double(forSeconds) * scale).rounded()))
        return rule
    }

    /// The summary with `{{value}}`, `{{threshold}}`, `{{host}}`, `{{labels}}` (the labels
    /// of the series that gave the value, `mountpoint=/data`; empty for signals without labels)
    /// and `{{detail}}` filled in.
    public func render(value: Double, host: String, labels: String = "", detail: String = "") -> String {
        summary.replacingOccurrences(of: "{{value}}", with: Self.number(value))
            .replacingOccurrences(of: "{{threshold}}", with: Self.number(threshold))
            .replacingOccurrences(of: "{{host}}", with: host)
            .replacingOccurrences(of: "{{labels}}", with: labels)
            .replacingOccurrences(of: "{{detail}}", with: detail)
    }

    /// Labels as `{{labels}}` shows them: `name=value`, sorted by name, comma-separated.
    public static func labelsText(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e12 { return String(Int64(value)) }
        return String(format: "%.2f", value)
    }
}

/// A rule file or the `alerts.rules` list could not be read; the message names the file,
/// the line and the reason.
public struct AlertRuleError: Error, Sendable, CustomStringConvertible {
    public var origin: String
    public var message: String
    public var description: String { "\(origin): \(message)" }
}

public enum AlertRuleParser {
    static let keys: Set<String> = [
        "name", "metric", "signal", "labels", "aggregate", "window", "scale", "op", "threshold", "resolve", "for",
        "severity", "summary", "hint", "repeat", "min_requests", "detail",
    ]

    /// Rules of a YAML document: a list of rules, or a mapping with a `rules:` list.
    public static func parse(yaml: String, file: String) throws(AlertRuleError) -> [AlertRule] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw AlertRuleError(origin: file, message: "not valid YAML: \(error)")
        }
        guard let node else { return [] }
        if case .mapping(let mapping) = node {
            guard let rules = mapping["rules"] else {
                throw AlertRuleError(
                    origin: origin(file, node), message: "expected a list of rules, or 'rules:' with one")
            }
            return try parse(list: rules, file: file)
        }
        return try parse(list: node, file: file)
    }

    public static func parse(list node: Node, file: String) throws(AlertRuleError) -> [AlertRule] {
        guard case .sequence(let sequence) = node else {
            throw AlertRuleError(origin: origin(file, node), message: "expected a list of rules")
        }
        var rules: [AlertRule] = []
        for item in sequence { rules.append(try rule(item, file: file)) }
        return rules
    }

    static func origin(_ file: String, _ node: Node) -> String {
        "\(file):\((node.mark?.line).map(String.init) ?? "?")"
    }

    static func rule(_ node: Node, file: String) throws(AlertRuleError) -> AlertRule {
        let at = origin(file, node)
        guard case .mapping(let mapping) = node else {
            throw AlertRuleError(
                origin: at, message: "a rule must be a mapping (name:, metric: or signal:, op:, threshold:, …)")
        }
        var fields: [String: (text: String, origin: String)] = [:]
        var labels: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            let where_ = origin(file, keyNode)
            guard let key = keyNode.string else {
                throw AlertRuleError(origin: where_, message: "keys must be strings")
            }
            guard keys.contains(key) else {
                throw AlertRuleError(
                    origin: where_, message: "unknown key '\(key)'; known: \(keys.sorted().joined(separator: ", "))")
            }
            if key == "labels" {
                guard case .mapping(let labelMapping) = valueNode else {
                    throw AlertRuleError(origin: where_, message: "labels must be a mapping of name: value")
                }
                for (name, value) in labelMapping {
                    guard let name = name.string, let value = value.string else {
                        throw AlertRuleError(origin: where_, message: "labels must be a mapping of name: value")
                    }
                    labels[name] = value
                }
                continue
            }
            guard case .scalar(let scalar) = valueNode else {
                throw AlertRuleError(origin: where_, message: "'\(key)' must be a single value")
            }
            fields[key] = (scalar.string, where_)
        }
        func required(_ key: String) throws(AlertRuleError) -> (text: String, origin: String) {
            guard let value = fields[key], !value.text.isEmpty else {
                throw AlertRuleError(origin: at, message: "'\(key)' is required")
            }
            return value
        }
        func number(_ key: String) throws(AlertRuleError) -> Double? {
            guard let field = fields[key] else { return nil }
            guard let value = Double(field.text), value.isFinite else {
                throw AlertRuleError(origin: field.origin, message: "'\(key)': '\(field.text)' is not a number")
            }
            return value
        }
        func duration(_ key: String, default defaultValue: Int64) throws(AlertRuleError) -> Int64 {
            guard let field = fields[key] else { return defaultValue }
            if field.text == "0" { return 0 }
            do {
                return try DurationText.seconds(field.text, parameter: key)
            } catch {
                throw AlertRuleError(origin: field.origin, message: "'\(key)': \(error.message)")
            }
        }

        let name = try required("name")
        guard name.text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }),
            name.text.count <= 100
        else {
            throw AlertRuleError(origin: name.origin, message: "name '\(name.text)' must be letters, digits, _ or -")
        }
        let signal: AlertRule.Signal
        switch (fields["metric"], fields["signal"]) {
        case (.some(let metric), nil):
            guard metric.text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") })
            else {
                throw AlertRuleError(origin: metric.origin, message: "'\(metric.text)' is not a metric name")
            }
            let aggregateText = fields["aggregate"]?.text ?? "last"
            guard let aggregate = AlertRule.Aggregate(rawValue: aggregateText) else {
                throw AlertRuleError(
                    origin: fields["aggregate"]?.origin ?? at,
                    message: "aggregate '\(aggregateText)' is not one of "
                        + AlertRule.Aggregate.allCases.map(\.rawValue).joined(separator: ", "))
            }
            signal = .metric(name: metric.text, labels: labels, aggregate: aggregate)
        case (nil, .some(let builtin)):
            guard AlertRule.builtins[builtin.text] != nil else {
                throw AlertRuleError(
                    origin: builtin.origin,
                    message:
                        "signal '\(builtin.text)' is not one of \(AlertRule.builtins.keys.sorted().joined(separator: ", "))"
                )
            }
            guard labels.isEmpty, fields["aggregate"] == nil else {
                throw AlertRuleError(origin: at, message: "labels and aggregate apply to metric rules only")
            }
            signal = .builtin(builtin.text)
        case (.some, .some):
            throw AlertRuleError(origin: at, message: "give either 'metric' or 'signal', not both")
        case (nil, nil):
            throw AlertRuleError(origin: at, message: "'metric' or 'signal' is required")
        }
        let op = try required("op")
        guard let comparison = AlertRule.Comparison(rawValue: op.text) else {
            throw AlertRuleError(origin: op.origin, message: "op '\(op.text)' is not one of >, >=, <, <=")
        }
        guard let threshold = try number("threshold") else {
            throw AlertRuleError(origin: at, message: "'threshold' is required")
        }
        let resolve = try number("resolve") ?? threshold
        if comparison.holds(resolve, threshold) && resolve != threshold {
            throw AlertRuleError(
                origin: fields["resolve"]?.origin ?? at,
                message: "resolve \(resolve) is on the alerting side of threshold \(threshold) (\(op.text))")
        }
        let severityText = fields["severity"]?.text ?? "warning"
        guard let severity = AlertRule.Severity(rawValue: severityText) else {
            throw AlertRuleError(
                origin: fields["severity"]?.origin ?? at,
                message: "severity '\(severityText)' is not warning or critical")
        }
        let window = try duration("window", default: 300)
        guard window >= 1, window <= 7 * 86_400 else {
            throw AlertRuleError(origin: fields["window"]?.origin ?? at, message: "window must be between 1s and 7d")
        }
        let scale = try number("scale") ?? 1
        guard scale != 0 else {
            throw AlertRuleError(origin: fields["scale"]?.origin ?? at, message: "scale must not be 0")
        }
        let minRequests = try number("min_requests") ?? 20
        guard minRequests >= 0, minRequests == minRequests.rounded() else {
            throw AlertRuleError(
                origin: fields["min_requests"]?.origin ?? at, message: "min_requests must be a whole number ≥ 0")
        }
        var detail: AlertRule.Detail?
        if let field = fields["detail"] {
            guard let known = AlertRule.Detail(rawValue: field.text) else {
                throw AlertRuleError(
                    origin: field.origin,
                    message: "detail '\(field.text)' is not one of "
                        + AlertRule.Detail.allCases.map(\.rawValue).joined(separator: ", "))
            }
            detail = known
        }
        return AlertRule(
            name: name.text, signal: signal, windowSeconds: window, scale: scale, comparison: comparison,
            threshold: threshold, resolveThreshold: resolve, forSeconds: try duration("for", default: 0),
            severity: severity, summary: try required("summary").text, hint: fields["hint"]?.text ?? "",
            repeatSeconds: try duration("repeat", default: 4 * 3600), minRequests: Int64(minRequests), origin: at,
            detail: detail)
    }

    /// Default rules, then rule files (sorted by name), then `extra`; a later rule with the
    /// name of an earlier one replaces it (so a file can retune a default).
    public static func merge(_ lists: [[AlertRule]]) -> [AlertRule] {
        var order: [String] = []
        var byName: [String: AlertRule] = [:]
        for rule in lists.joined() {
            if byName[rule.name] == nil { order.append(rule.name) }
            byName[rule.name] = rule
        }
        return order.compactMap { byName[$0] }
    }

    /// Every `*.yaml` / `*.yml` file of `directory`, sorted; a missing directory is no rules.
    public static func load(directory: String) throws(AlertRuleError) -> [AlertRule] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var rules: [AlertRule] = []
        for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = "\(directory)/\(name)"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AlertRuleError(origin: path, message: "cannot read the file")
            }
            rules += try parse(yaml: String(decoding: data, as: UTF8.self), file: path)
        }
        return rules
    }
}
