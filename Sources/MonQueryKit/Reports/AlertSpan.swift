/// One alert of a report's period: when it fired and when it resolved, from the stored
/// transitions (`alert_events`).
public struct AlertSpan: Sendable, Equatable {
    public var rule: String
    public var host: String
    public var severity: String
    public var summary: String
    /// nil: it was already firing when the period began.
    public var firedMs: Int64?
    /// nil: still firing at the period's end.
    public var resolvedMs: Int64?

    public init(
        rule: String, host: String, severity: String, summary: String, firedMs: Int64?, resolvedMs: Int64?
    ) {
        self.rule = rule
        self.host = host
        self.severity = severity
        self.summary = summary
        self.firedMs = firedMs
        self.resolvedMs = resolvedMs
    }

    /// How long it fired within `[startMs, endMs]`, in seconds.
    public func durationSeconds(startMs: Int64, endMs: Int64) -> Double {
        Double(max(0, (resolvedMs ?? endMs) - (firedMs ?? startMs))) / 1000
    }

    /// The spans of a period's transitions (any order): a `firing` opens one for its rule and
    /// host, the next `resolved` closes it; a `resolved` with none open closes one that fired
    /// before the period. `pending` and repeated `firing` transitions add nothing.
    public static func spans(_ events: [AlertStore.Event]) -> [AlertSpan] {
        var spans: [AlertSpan] = []
        var open: [String: Int] = [:]
        for event in events.sorted(by: { ($0.timestampMs, $0.id) < ($1.timestampMs, $1.id) }) {
            let item = event.transition
            let key = item.rule + "\u{1F}" + item.host
            switch item.state {
            case .firing:
                guard open[key] == nil else { continue }
                open[key] = spans.count
                spans.append(
                    AlertSpan(
                        rule: item.rule, host: item.host, severity: item.severity.rawValue, summary: item.summary,
                        firedMs: item.timestampMs, resolvedMs: nil))
            case .resolved:
                if let index = open.removeValue(forKey: key) {
                    spans[index].resolvedMs = item.timestampMs
                } else {
                    spans.append(
                        AlertSpan(
                            rule: item.rule, host: item.host, severity: item.severity.rawValue, summary: item.summary,
                            firedMs: nil, resolvedMs: item.timestampMs))
                }
            case .pending, .inactive:
                continue
            }
        }
        return spans
    }
}
