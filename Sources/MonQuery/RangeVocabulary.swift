import MonCore
import MonQueryKit

/// The one range vocabulary of the API: `period` (a duration back from now), or `from` and
/// `to` (absolute instants, `InstantText`; `to` defaults to now). `since` (the log and alert
/// routes) and `window` (`/compare`) are older names of `period`, still accepted; a route
/// that takes any of them takes all of `period`, `from` and `to`.
enum RangeVocabulary {
    /// Older names of `period`.
    static let aliases = ["since", "window"]
    static let names: Set<String> = ["period", "from", "to"]

    /// `allowed` with `period`, `from` and `to` when it has a period under any name.
    static func extending(_ allowed: Set<String>) -> Set<String> {
        allowed.isDisjoint(with: ["period"] + aliases) ? allowed : allowed.union(names)
    }

    /// The period's text and the name it was given under (`period` when none); `period`
    /// with an alias, or two aliases, is refused.
    static func period(_ parameters: QueryParameters) throws(ParameterError) -> (text: String?, name: String) {
        let given = (["period"] + aliases).filter { parameters[$0] != nil }
        guard given.count <= 1 else {
            throw ParameterError(
                given[1], "is another name of \(given[0]); give one (period is the name every route takes)")
        }
        return (given.first.flatMap { parameters[$0] }, given.first ?? "period")
    }

    static func range(
        _ parameters: QueryParameters, nowMs: Int64, retention: RetentionPolicy?, defaultPeriod: String,
        limits: TimeRange.Limits
    ) throws(ParameterError) -> TimeRange {
        let given = try Self.period(parameters)
        return try TimeRange(
            period: given.text, periodName: given.name, defaultPeriod: defaultPeriod, from: parameters["from"],
            to: parameters["to"], step: parameters["step"], nowMs: nowMs, limits: limits, retention: retention)
    }
}
