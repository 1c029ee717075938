import MonCore

/// A grid of latencies as inline SVG: one row per endpoint, one column per time bucket (an
/// hour over a day), each cell coloured by its band and named in a tooltip. Colour is never
/// the only signal: every cell's `<title>` gives the endpoint, the bucket and the figure, and
/// the legend names the bands.
public struct Heatmap: Sendable {
    public struct Row: Sendable {
        public var label: String
        /// Milliseconds per column (nil: no request in that bucket).
        public var cells: [Double?]

        public init(label: String, cells: [Double?]) {
            self.label = label
            self.cells = cells
        }
    }

    public var title: String
    /// The start of each column's bucket (ms) and the bucket's length (s).
    public var columns: [Int64]
    public var stepSeconds: Int64
    public var rows: [Row]

    /// Upper bounds (ms) of the bands below the last; the last band is the API latency alert's
    /// side (≥ 1 s, `APILatencyP95High`).
    public static let bands: [Double] = [50, 100, 250, 500, 1000]

    public init(title: String, columns: [Int64], stepSeconds: Int64, rows: [Row]) {
        self.title = title
        self.columns = columns
        self.stepSeconds = stepSeconds
        self.rows = rows
    }

    /// The band of a figure: 0 (fastest) … `bands.count` (slowest).
    public static func band(_ milliseconds: Double) -> Int {
        bands.firstIndex { milliseconds < $0 } ?? bands.count
    }

    static func bandLabel(_ band: Int) -> String {
        if band == 0 { return "< \(DashboardFormat.milliseconds(bands[0]))" }
        if band == bands.count { return "≥ \(DashboardFormat.milliseconds(bands[band - 1]))" }
        return "\(DashboardFormat.milliseconds(bands[band - 1]))–\(DashboardFormat.milliseconds(bands[band]))"
    }

    public func render() -> HTML {
        guard !rows.isEmpty, !columns.isEmpty else {
            return "<div class=\"no-data\" role=\"img\" aria-label=\"\(title): no data\">No data for this period</div>"
        }
        let (labelWidth, cellHeight, top) = (220.0, 18.0, 18.0)
        let cellWidth = max(3, min(28, 720 / Double(columns.count)))
        // Wide enough for the legend (six swatches of 112) however few the columns.
        let width = max(labelWidth + cellWidth * Double(columns.count), labelWidth + 112 * 6) + 8
        let legendTop = top + cellHeight * Double(rows.count) + 10
        let height = legendTop + 22
        var svg: HTML =
            "<svg class=\"chart-svg heatmap\" viewBox=\"0 0 \(DashboardFormat.coordinate(width)) \(DashboardFormat.coordinate(height))\" role=\"img\" aria-label=\"\(title)\"><title>\(title)</title>"
        // Column labels: about every 3rd hour of a day (at most 12 labels).
        let every = max(1, (columns.count + 11) / 12)
        for (index, start) in columns.enumerated() where index % every == 0 {
            let x = labelWidth + cellWidth * Double(index)
            svg +=
                "<text class=\"axis\" x=\"\(DashboardFormat.coordinate(x))\" y=\"12\">\(DashboardFormat.clock(ms: start, withDay: stepSeconds >= 86_400))</text>"
        }
        for (rowIndex, row) in rows.enumerated() {
            let y = top + cellHeight * Double(rowIndex)
            let shown = row.label.count > 32 ? String(row.label.prefix(31)) + "…" : row.label
            svg +=
                "<text class=\"axis\" x=\"\(labelWidth - 6)\" y=\"\(DashboardFormat.coordinate(y + 13))\" text-anchor=\"end\">\(shown)<title>\(row.label)</title></text>"
            for (index, value) in row.cells.prefix(columns.count).enumerated() {
                let x = labelWidth + cellWidth * Double(index)
                let when = DashboardFormat.clock(ms: columns[index], withDay: true)
                let (css, figure): (String, String) =
                    value.map { ("heat-\(Self.band($0))", DashboardFormat.milliseconds($0)) } ?? (
                        "heat-none", "no requests"
                    )
                svg +=
                    "<rect class=\"heat-cell \(css)\" x=\"\(DashboardFormat.coordinate(x))\" y=\"\(DashboardFormat.coordinate(y))\" width=\"\(DashboardFormat.coordinate(cellWidth))\" height=\"\(DashboardFormat.coordinate(cellHeight))\"><title>\(row.label) · \(when) UTC · P95 \(figure)</title></rect>"
            }
        }
        for band in 0...Self.bands.count {
            let x = labelWidth + Double(band) * 112
            svg +=
                "<rect class=\"heat-cell heat-\(band)\" x=\"\(DashboardFormat.coordinate(x))\" y=\"\(DashboardFormat.coordinate(legendTop))\" width=\"12\" height=\"12\"/><text class=\"axis\" x=\"\(DashboardFormat.coordinate(x + 16))\" y=\"\(DashboardFormat.coordinate(legendTop + 11))\">\(Self.bandLabel(band))</text>"
        }
        return svg + "</svg>"
    }
}
