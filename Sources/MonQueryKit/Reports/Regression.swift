/// Something that got worse from the previous period to this one: what, the two figures and
/// the change. `Regression.find` compares endpoint P95 and error rate, the application's cache
/// hit rate per type, statements' mean time, CPU and memory.
public struct Regression: Sendable, Equatable {
    public enum Unit: Sendable, Equatable {
        case milliseconds, percent
    }

    /// `Endpoint P95`, `Error rate`, `Cache hit rate`, `Statement mean`, `CPU`, `Memory`.
    public var kind: String
    /// The endpoint, cache type, statement or `all hosts`/the host.
    public var subject: String
    public var before: Double
    public var after: Double
    public var unit: Unit
    /// Higher is worse (latency, errors, CPU) or lower is (hit rates).
    public var lowerIsWorse: Bool

    public init(kind: String, subject: String, before: Double, after: Double, unit: Unit, lowerIsWorse: Bool = false) {
        self.kind = kind
        self.subject = subject
        self.before = before
        self.after = after
        self.unit = unit
        self.lowerIsWorse = lowerIsWorse
    }

    /// How much worse, in percent of the earlier figure (`Comparison.changePercent`, its sign
    /// turned for a hit rate); nil from 0.
    public var worsePercent: Double? {
        Comparison.changePercent(after, from: before).map { lowerIsWorse ? -$0 : $0 }
    }

    /// `+704 %`, `+3.2 pp` (a percentage's change in points is shown with it), `new` from 0.
    public var changeText: String {
        let relative = Comparison.changePercent(after, from: before)
        let relativeText = relative.map { ($0 >= 0 ? "+" : "") + DashboardFormat.number($0) + " %" } ?? "new"
        guard unit == .percent else { return relativeText }
        let points = after - before
        return (points >= 0 ? "+" : "") + DashboardFormat.number(points) + " pp (\(relativeText))"
    }

    public func text(_ value: Double) -> String {
        switch unit {
        case .milliseconds: DashboardFormat.milliseconds(value)
        case .percent: DashboardFormat.percent(value)
        }
    }

    /// At least this much worse, relatively, to count.
    public static let minimumWorsePercent = 10.0
    /// A percentage must also move by this many points (a 0.1 % error rate doubling is noise).
    public static let minimumPoints = 1.0
    /// An endpoint needs this many requests in each period to be compared.
    public static let minimumRequests: Int64 = 20

    /// Whether a move from `before` to `after` is a regression under the thresholds above.
    static func isWorse(before: Double, after: Double, unit: Unit, lowerIsWorse: Bool) -> Bool {
        let worse = lowerIsWorse ? before - after : after - before
        guard worse > 0 else { return false }
        if unit == .percent && worse < minimumPoints { return false }
        guard before != 0 else { return true }
        return worse / abs(before) * 100 >= minimumWorsePercent
    }

    /// Every regression from `previous` to `current`, the worst (relatively) first, one from 0
    /// (an error rate that was 0) ranked as a doubling; `scope` names the host or `all hosts`
    /// for CPU and memory.
    public static func find(current: ReportFigures.Period, previous: ReportFigures.Period, scope: String)
        -> [Regression]
    {
        var found: [Regression] = []
        func add(
            _ kind: String, _ subject: String, _ before: Double?, _ after: Double?, _ unit: Unit, lower: Bool = false
        ) {
            guard let before, let after, before.isFinite, after.isFinite,
                isWorse(before: before, after: after, unit: unit, lowerIsWorse: lower)
            else { return }
            found.append(
                Regression(kind: kind, subject: subject, before: before, after: after, unit: unit, lowerIsWorse: lower))
        }
        let earlier = Dictionary(
            previous.endpoints.map { ($0.method + " " + $0.endpoint, $0) }, uniquingKeysWith: { $1 })
        for endpoint in current.endpoints {
            let name = endpoint.method.isEmpty ? endpoint.endpoint : endpoint.method + " " + endpoint.endpoint
            guard let before = earlier[endpoint.method + " " + endpoint.endpoint],
                endpoint.requests >= minimumRequests, before.requests >= minimumRequests
            else { continue }
            add(
                "Endpoint P95", name, before.histogram.quantile(0.95).map { $0 * 1000 },
                endpoint.histogram.quantile(0.95).map { $0 * 1000 }, .milliseconds)
            add(
                "Error rate", name, Double(before.serverErrors) / Double(before.requests) * 100,
                Double(endpoint.serverErrors) / Double(endpoint.requests) * 100, .percent)
        }
        let hitRatesBefore = previous.cacheHitRates
        for (type, rate) in current.cacheHitRates.sorted(by: { $0.key < $1.key }) {
            add("Cache hit rate", type, hitRatesBefore[type], rate, .percent, lower: true)
        }
        let statementsBefore = Dictionary(
            previous.statements.map { ($0.host + "\u{1F}" + $0.key, $0) }, uniquingKeysWith: { $1 })
        for statement in current.statements {
            guard let before = statementsBefore[statement.host + "\u{1F}" + statement.key], before.calls > 0,
                statement.calls > 0
            else { continue }
            add(
                "Statement mean", ReportText.statement(statement), before.totalMs / before.calls,
                statement.totalMs / statement.calls, .milliseconds)
        }
        add("CPU", scope, previous.cpu.mean, current.cpu.mean, .percent)
        add("Memory", scope, previous.memory.mean, current.memory.mean, .percent)
        return found.sorted { ($0.worsePercent ?? 100) > ($1.worsePercent ?? 100) }
    }
}
