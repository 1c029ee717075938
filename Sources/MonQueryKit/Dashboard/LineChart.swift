import MonCore

/// A time-series line chart drawn as inline SVG: horizontal grid with the value axis on the
/// left, times (UTC) below, one path per series, and a legend with each series' latest
/// value. No data at all gives an explicit "No data" text instead of an empty drawing.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        /// Colour slot 1...6 (CSS `line-N` / `sw-N`).
        public var colour: Int
        public var points: [(ms: Int64, value: Double?)]

        public init(name: String, colour: Int, points: [(ms: Int64, value: Double?)]) {
            self.name = name
            self.colour = colour
            self.points = points
        }

        public var latest: Double? { points.last { $0.value?.isFinite == true }?.value }
    }

    public var title: String
    public var series: [Series]
    public var startMs: Int64
    public var endMs: Int64
    /// Formats a value with its unit (axis and legend).
    public var format: @Sendable (Double) -> String
    /// The value axis reaches at least this (100 for percentages).
    public var minimumTop: Double?
    /// Two points further apart than this are not joined (missing data is not drawn as a line).
    public var gapMs: Int64?
    public var width = 640.0
    public var height = 200.0
    /// A sparkline: no axes, no legend.
    public var compact = false

    public init(
        title: String, series: [Series], startMs: Int64, endMs: Int64,
        format: @escaping @Sendable (Double) -> String, minimumTop: Double? = nil, gapMs: Int64? = nil
    ) {
        self.title = title
        self.series = series
        self.startMs = startMs
        self.endMs = max(endMs, startMs + 1)
        self.format = format
        self.minimumTop = minimumTop
        self.gapMs = gapMs
    }

    /// The same chart drawn at another size (the viewBox: about the size it is shown at,
    /// so axis text stays readable).
    public func sized(width: Double, height: Double) -> LineChart {
        var copy = self
        copy.width = width
        copy.height = height
        return copy
    }

    /// Plot area inside the drawing: left, top, right, bottom.
    var plot: (left: Double, top: Double, right: Double, bottom: Double) {
        compact ? (1, 2, width - 1, height - 2) : (52, 8, width - 8, height - 22)
    }

    var hasData: Bool { series.contains { $0.points.contains { $0.value?.isFinite == true } } }

    /// The value axis: 0 (or a nice floor below negative data) to a nice top, and its step.
    var scale: (bottom: Double, top: Double, step: Double) {
        let values = series.flatMap { $0.points.compactMap(\.value) }.filter(\.isFinite)
        let highest = max(values.max() ?? 0, minimumTop ?? 0)
        let lowest = min(values.min() ?? 0, 0)
        let span = highest - lowest
        let step = Self.niceStep(span > 0 ? span / 4 : 0.25)
        let top = (highest / step).rounded(.up) * step
        let bottom = (lowest / step).rounded(.down) * step
        return (bottom, top > bottom ? top : bottom + step, step)
    }

    /// The smallest 1, 2, 2.5 or 5 × 10ⁿ at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        for factor in [1, 2, 2.5, 5, 10] where factor * power >= raw { return factor * power }
        return 10 * power
    }

    func x(_ ms: Int64) -> Double {
        let area = plot
        return area.left + Double(ms - startMs) / Double(endMs - startMs) * (area.right - area.left)
    }

    func y(_ value: Double, _ scale: (bottom: Double, top: Double, step: Double)) -> Double {
        let area = plot
        return area.bottom - (value - scale.bottom) / (scale.top - scale.bottom) * (area.bottom - area.top)
    }

    /// The `d` attribute of a series: `M x y L x y …`, a new `M` after a missing value or a
    /// gap longer than `gapMs`; a lone point is drawn as a dot (`h0` with a round cap).
    func path(_ points: [(ms: Int64, value: Double?)]) -> String {
        let scale = self.scale
        var parts: [String] = []
        var previousMs: Int64? = nil
        var runLength = 0
        for point in points.sorted(by: { $0.ms < $1.ms }) where point.ms >= startMs && point.ms <= endMs {
            guard let value = point.value, value.isFinite else {
                if runLength == 1 { parts.append("h0") }
                previousMs = nil
                runLength = 0
                continue
            }
            let joined = previousMs.map { gapMs == nil || point.ms - $0 <= gapMs! } ?? false
            if !joined && runLength == 1 { parts.append("h0") }
            let coordinates =
                DashboardFormat.coordinate(x(point.ms)) + " " + DashboardFormat.coordinate(y(value, scale))
            parts.append((joined ? "L" : "M") + coordinates)
            runLength = joined ? runLength + 1 : 1
            previousMs = point.ms
        }
        if runLength == 1 { parts.append("h0") }
        return parts.joined(separator: " ")
    }

    /// What a screen reader says: the title and each series' latest value.
    var summary: String {
        let latest = series.map { "\($0.name) \($0.latest.map(format) ?? "no data")" }
        return title + (latest.isEmpty ? "" : ": latest " + latest.joined(separator: ", "))
    }

    public func render() -> HTML {
        guard hasData else {
            return
                "<div class=\"no-data\(compact ? " no-data-small" : "")\" role=\"img\" aria-label=\"\(title): no data\">No data for this period</div>"
        }
        let scale = self.scale
        let area = plot
        var svg: HTML =
            "<svg class=\"chart-svg\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(summary)\"><title>\(summary)</title>"
        if !compact {
            svg += "<g class=\"grid\">"
            var tick = scale.bottom
            while tick <= scale.top + scale.step / 1000 {
                let tickY = y(tick, scale)
                svg +=
                    "<line x1=\"\(area.left)\" y1=\"\(tickY)\" x2=\"\(area.right)\" y2=\"\(tickY)\"/><text class=\"axis\" x=\"\(area.left - 6)\" y=\"\(tickY + 4)\" text-anchor=\"end\">\(format(tick))</text>"
                tick += scale.step
            }
            let span = endMs - startMs
            let withDay = span > 86_400_000
            for index in 0...4 {
                let ms = startMs + span * Int64(index) / 4
                let anchor = index == 0 ? "start" : index == 4 ? "end" : "middle"
                svg +=
                    "<text class=\"axis\" x=\"\(x(ms))\" y=\"\(height - 6)\" text-anchor=\"\(anchor)\">\(DashboardFormat.clock(ms: ms, withDay: withDay))</text>"
            }
            svg += "</g>"
        }
        for line in series {
            let d = path(line.points)
            guard !d.isEmpty else { continue }
            svg += "<path class=\"line line-\(line.colour)\" d=\"\(d)\"><title>\(line.name)</title></path>"
        }
        svg += "</svg>"
        guard !compact else { return svg }
        let legend: [HTML] = series.map { line in
            "<li><span class=\"swatch sw-\(line.colour)\" aria-hidden=\"true\"></span>\(line.name) <b>\(line.latest.map(format) ?? DashboardFormat.missing)</b></li>"
        }
        return svg + "<ul class=\"legend\">\(legend)</ul>"
    }
}
