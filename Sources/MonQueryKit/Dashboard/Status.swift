import MonCore

/// The state of a card, a check or an alert on the dashboard. Shown as a colour AND a
/// text label (colour is never the only signal).
public enum Status: Int, Sendable, Comparable, CaseIterable {
    case noData = 0
    case ok = 1
    case warning = 2
    case critical = 3

    public var label: String {
        switch self {
        case .noData: return "No data"
        case .ok: return "OK"
        case .warning: return "Warning"
        case .critical: return "Critical"
        }
    }

    /// CSS class giving the colour (grey, green, orange, red).
    public var cssClass: String {
        switch self {
        case .noData: return "st-none"
        case .ok: return "st-ok"
        case .warning: return "st-warn"
        case .critical: return "st-crit"
        }
    }

    /// A shape beside the label, for a glance in grey scale.
    public var symbol: String {
        switch self {
        case .noData: return "○"
        case .ok: return "●"
        case .warning: return "▲"
        case .critical: return "■"
        }
    }

    public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `value` against "higher is worse" thresholds; `.noData` for nil.
    public static func above(_ value: Double?, warning: Double, critical: Double) -> Status {
        guard let value, value.isFinite else { return .noData }
        return value > critical ? .critical : value > warning ? .warning : .ok
    }

    /// `value` against a rule's threshold: warning past `limit`, critical past `critical`.
    public static func above(_ value: Double?, _ threshold: Threshold) -> Status {
        above(value, warning: threshold.limit, critical: threshold.critical)
    }

    /// `value` against a "lower is worse" rule threshold.
    public static func below(_ value: Double?, _ threshold: Threshold) -> Status {
        below(value, warning: threshold.limit, critical: threshold.critical)
    }

    /// `value` against "lower is worse" thresholds; `.noData` for nil.
    public static func below(_ value: Double?, warning: Double, critical: Double) -> Status {
        guard let value, value.isFinite else { return .noData }
        return value < critical ? .critical : value < warning ? .warning : .ok
    }

    /// The badge: symbol and text label in the state's colour.
    public var badge: HTML {
        "<span class=\"badge \(cssClass)\"><span aria-hidden=\"true\">\(symbol)</span> \(label)</span>"
    }
}
