import Foundation
import MonCore

/// A half-circle gauge of a percentage drawn as inline SVG: a grey track, an arc in the
/// state's colour up to the value, the value in the middle and the state's text label
/// under it. No value gives the track and an explicit "No data".
public struct Gauge: Sendable {
    public var title: String
    /// 0...100; clamped for the arc, shown as it is.
    public var percent: Double?
    public var status: Status

    public init(title: String, percent: Double?, status: Status) {
        self.title = title
        self.percent = percent
        self.status = status
    }

    static let centre = (x: 100.0, y: 100.0)
    static let radius = 80.0

    /// The point of the arc at `fraction` (0 = left end, 1 = right end).
    static func point(_ fraction: Double) -> (x: Double, y: Double) {
        let angle = Double.pi * min(max(fraction, 0), 1)
        return (centre.x - radius * cos(angle), centre.y - radius * sin(angle))
    }

    /// `d` of the arc from the left end to `fraction`.
    static func arc(_ fraction: Double) -> String {
        let end = point(fraction)
        let start = point(0)
        return "M\(DashboardFormat.coordinate(start.x)) \(DashboardFormat.coordinate(start.y)) "
            + "A\(DashboardFormat.coordinate(radius)) \(DashboardFormat.coordinate(radius)) 0 0 1 "
            + "\(DashboardFormat.coordinate(end.x)) \(DashboardFormat.coordinate(end.y))"
    }

    public func render() -> HTML {
        let valueText = percent.map { DashboardFormat.percent($0) } ?? "No data"
        let label = "\(title): \(valueText), \(status.label)"
        var svg: HTML =
            "<svg class=\"gauge\" viewBox=\"0 0 200 122\" role=\"img\" aria-label=\"\(label)\"><title>\(label)</title>"
        svg += "<path class=\"gauge-track\" d=\"\(Self.arc(1))\"/>"
        if let percent, percent.isFinite, percent > 0 {
            svg += "<path class=\"gauge-value \(status.cssClass)\" d=\"\(Self.arc(percent / 100))\"/>"
        }
        svg += "<text class=\"gauge-text\" x=\"100\" y=\"92\" text-anchor=\"middle\">\(valueText)</text>"
        svg +=
            "<text class=\"gauge-label\" x=\"100\" y=\"117\" text-anchor=\"middle\">\(percent == nil ? "" : status.label)</text>"
        return svg + "</svg>"
    }
}

/// Horizontal bars (table sizes, per-type counts) as inline SVG, longest first as given.
public struct BarChart: Sendable {
    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        public var text: String
        /// Colours the bar with the state (and names it in the value's text); nil: the plain colour.
        public var status: Status?

        public init(label: String, value: Double, text: String, status: Status? = nil) {
            self.label = label
            self.value = value
            self.text = text
            self.status = status
        }
    }

    public var title: String
    public var bars: [Bar]
    public var width = 640.0
    /// The value of a full-length bar (100 for percentages); nil: the longest bar.
    public var maximum: Double?

    public init(title: String, bars: [Bar], maximum: Double? = nil) {
        self.title = title
        self.bars = bars
        self.maximum = maximum
    }

    public func render() -> HTML {
        guard !bars.isEmpty else {
            return "<div class=\"no-data\" role=\"img\" aria-label=\"\(title): no data\">No data for this period</div>"
        }
        let row = 22.0
        let height = Double(bars.count) * row + 4
        let (labelWidth, valueWidth) = (200.0, 80.0)
        let longest = maximum ?? bars.map(\.value).max() ?? 0
        let span = width - labelWidth - valueWidth - 8
        var svg: HTML =
            "<svg class=\"chart-svg bars\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(title)\"><title>\(title)</title>"
        for (index, bar) in bars.enumerated() {
            let top = Double(index) * row + 2
            let length = longest > 0 ? max(min(bar.value, longest) / longest * span, bar.value > 0 ? 1 : 0) : 0
            let shown = bar.label.count > 30 ? String(bar.label.prefix(29)) + "…" : bar.label
            svg +=
                "<text class=\"axis\" x=\"\(labelWidth - 6)\" y=\"\(top + 15)\" text-anchor=\"end\">\(shown)<title>\(bar.label)</title></text>"
            let state = bar.status.map { " \($0.cssClass)" } ?? ""
            svg +=
                "<rect class=\"bar\(state)\" x=\"\(labelWidth)\" y=\"\(top + 3)\" width=\"\(length)\" height=\"\(row - 6)\"/>"
            let text = bar.status.map { "\(bar.text) \($0.symbol) \($0.label)" } ?? bar.text
            svg += "<text class=\"axis\" x=\"\(labelWidth + length + 6)\" y=\"\(top + 15)\">\(text)</text>"
        }
        return svg + "</svg>"
    }
}
