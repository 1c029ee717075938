import MonCore
import MonQueryKit

/// The dashboard's range as its URL, links, forms and titles carry it: `period=6h` (the
/// selector), or `from=…&to=…` (the custom range; every panel follows it, the URL shares it).
struct DashboardRange: Sendable {
    /// The relative period (`1h`); nil for an absolute range.
    var relative: String?
    /// RFC 3339 (UTC) bounds of an absolute range.
    var from: String?
    var to: String?

    init(_ range: TimeRange, absolute: Bool) {
        if absolute {
            from = Timestamp.iso8601(ms: range.startMs)
            to = Timestamp.iso8601(ms: range.endMs)
        } else {
            relative = DurationText.format(seconds: range.periodSeconds)
        }
    }

    /// The selector's value (empty for a custom range).
    var period: String { relative ?? "" }

    /// Query pairs that ask for this range again.
    var query: [(String, String?)] { relative.map { [("period", $0)] } ?? [("from", from), ("to", to)] }

    /// "last 1h", or "2026-12-04 02:10:00 to 2026-12-04 02:40:00 UTC".
    var label: String {
        DashboardPage(
            section: .advanced, period: period, from: from, to: to, host: nil, healthBadge: .empty,
            authenticationEnabled: true, generatedMs: 0, body: .empty
        ).rangeNote
    }

    /// Where the live log stream's replay starts: `since` the period, or `from`.
    var streamStart: (String, String?) { relative.map { ("since", $0) } ?? ("from", from) }

    /// Hidden form fields that keep the range (the log filters' form).
    var hiddenFields: HTML {
        query.compactMap { name, value -> HTML? in
            value.map { "<input type=\"hidden\" name=\"\(name)\" value=\"\($0)\">" }
        }
        .joined()
    }

    /// `from`/`to` as a `datetime-local` input gives them (`2026-12-04T02:10`, seconds optional,
    /// no offset) are read as UTC, the page's time zone; every other form goes to the API's
    /// own checks unchanged.
    static func normalized(_ parameters: QueryParameters) -> QueryParameters {
        var result = parameters
        for name in ["from", "to"] {
            guard let text = parameters[name], isLocalDateTime(text) else { continue }
            result = result.setting(name, (text.count == 16 ? text + ":00" : text) + "Z")
        }
        return result
    }

    /// `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`.
    static func isLocalDateTime(_ text: String) -> Bool {
        let shape = Array("dddd-dd-ddTdd:dd:dd")
        let chars = Array(text)
        guard chars.count == 16 || chars.count == 19 else { return false }
        for (char, expected) in zip(chars, shape) {
            if expected == "d" ? !(char.isASCII && char.isNumber) : char != expected { return false }
        }
        return true
    }
}
