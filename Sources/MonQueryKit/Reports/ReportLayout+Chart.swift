import Foundation

extension ReportLayout {
    /// Left of the plot: the value axis' labels.
    static var axisWidth: Double { 44 }

    /// A line chart: its title, a box with four grid lines labelled from 0 to a round maximum,
    /// the period's start, middle and end under it, one line per series, and a legend.
    mutating func chart(_ chart: PeriodReport.Chart) throws {
        let legendHeight = 14.0
        try ensure(Self.chartHeight + 24 + legendHeight)
        y += 12
        let heading = chart.unit.isEmpty ? chart.title : "\(chart.title) (\(chart.unit))"
        try canvas.text(
            try fit(heading, width: width, size: 10, bold: true), x: left, y: y, size: 10, bold: true, colour: .text)
        y += 8
        let plot = (x: left + Self.axisWidth, y: y, width: width - Self.axisWidth - 4, height: Self.chartHeight - 22)
        try canvas.rectangle(
            x: plot.x, y: plot.y, width: plot.width, height: plot.height, fill: nil, stroke: .rule, lineWidth: 0.6)
        let values = chart.series.flatMap { $0.points.map(\.value) }.filter(\.isFinite)
        let top = Self.roundCeiling(values.max() ?? 0)
        for step in 0...4 {
            let value = top * Double(step) / 4
            let lineY = plot.y + plot.height - plot.height * Double(step) / 4
            if step > 0 && step < 4 {
                try canvas.rectangle(
                    x: plot.x, y: lineY, width: plot.width, height: 0.3, fill: .band, stroke: nil, lineWidth: 0)
            }
            let label = DashboardFormat.number(value)
            let labelWidth = try canvas.textWidth(label, size: 7, bold: false)
            try canvas.text(label, x: plot.x - 4 - labelWidth, y: lineY + 2.5, size: 7, bold: false, colour: .muted)
        }
        let span = Double(max(1, chart.endMs - chart.startMs))
        for (fraction, ms) in [
            (0.0, chart.startMs), (0.5, chart.startMs + (chart.endMs - chart.startMs) / 2), (1.0, chart.endMs),
        ] {
            let label = String(PeriodReport.time(ms).dropFirst(5))  // MM-DD HH:MM
            let labelWidth = try canvas.textWidth(label, size: 7, bold: false)
            let x = min(max(plot.x + plot.width * fraction - labelWidth / 2, plot.x), plot.x + plot.width - labelWidth)
            try canvas.text(label, x: x, y: plot.y + plot.height + 10, size: 7, bold: false, colour: .muted)
        }
        if values.isEmpty {
            let text = "no data in this period"
            let textWidth = try canvas.textWidth(text, size: 9, bold: false)
            try canvas.text(
                text, x: plot.x + (plot.width - textWidth) / 2, y: plot.y + plot.height / 2, size: 9, bold: false,
                colour: .muted)
        }
        for (index, series) in chart.series.enumerated() {
            let colour = ReportColour.series[index % ReportColour.series.count]
            let points = series.points.filter { $0.value.isFinite }.sorted { $0.ms < $1.ms }.map { point in
                (
                    x: plot.x + plot.width * min(max(Double(point.ms - chart.startMs) / span, 0), 1),
                    y: plot.y + plot.height - plot.height * min(max(point.value / top, 0), 1)
                )
            }
            if points.count == 1, let point = points.first {
                try canvas.rectangle(
                    x: point.x - 1.5, y: point.y - 1.5, width: 3, height: 3, fill: colour, stroke: nil, lineWidth: 0)
            } else {
                try canvas.polyline(points, colour: colour, lineWidth: 1.2)
            }
        }
        y = plot.y + plot.height + 22
        var x = plot.x
        for (index, series) in chart.series.enumerated() {
            let colour = ReportColour.series[index % ReportColour.series.count]
            try canvas.rectangle(x: x, y: y - 6, width: 10, height: 3, fill: colour, stroke: nil, lineWidth: 0)
            try canvas.text(series.name, x: x + 14, y: y - 3, size: 8, bold: false, colour: .text)
            x += 14 + (try canvas.textWidth(series.name, size: 8, bold: false)) + 16
        }
        y += legendHeight - 6
    }

    /// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (1 for nothing above 0).
    static func roundCeiling(_ value: Double) -> Double {
        guard value.isFinite, value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for multiple in [1, 2, 2.5, 5, 10] where multiple * power >= value * (1 - 1e-12) {
            return multiple * power
        }
        return 10 * power
    }
}
