/// Draws a `PeriodReport` on a `ReportCanvas`, top to bottom: the header, the health cards,
/// then each section (a heading, paragraphs, tables, charts). A table row that does not fit
/// goes to the next page under the table's header again; a chart or a card row is never cut.
/// Every page ends with a footer naming the report and the page.
public struct ReportLayout<Canvas: ReportCanvas> {
    public static var margin: Double { 40 }
    static var footerHeight: Double { 24 }
    static var rowHeight: Double { 14 }
    static var chartHeight: Double { 150 }
    static var cardHeight: Double { 58 }
    static var cardsPerRow: Int { 4 }

    let canvas: Canvas
    let report: PeriodReport
    /// The baseline of what comes next.
    var y: Double
    public private(set) var page = 1

    var left: Double { Self.margin }
    var width: Double { canvas.pageWidth - 2 * Self.margin }
    var bottom: Double { canvas.pageHeight - Self.margin - Self.footerHeight }

    /// Draws `report` on `canvas`: the number of pages.
    @discardableResult
    public static func draw(_ report: PeriodReport, on canvas: Canvas) throws -> Int {
        var layout = ReportLayout(canvas: canvas, report: report, y: margin)
        try layout.header()
        try layout.cards()
        for section in report.sections { try layout.section(section) }
        try layout.footer()
        return layout.page
    }

    mutating func header() throws {
        y += 20
        try canvas.text(PeriodReport.title, x: left, y: y, size: 20, bold: true, colour: .text)
        y += 8
        for line in report.headerLines {
            y += 14
            try canvas.text(try fit(line, width: width, size: 10), x: left, y: y, size: 10, bold: false, colour: .muted)
        }
        y += 10
        try canvas.rectangle(x: left, y: y, width: width, height: 0.8, fill: .rule, stroke: nil, lineWidth: 0)
        y += 12
    }

    mutating func cards() throws {
        let gap = 8.0
        let perRow = Self.cardsPerRow
        let cardWidth = (width - gap * Double(perRow - 1)) / Double(perRow)
        for start in stride(from: 0, to: report.cards.count, by: perRow) {
            try ensure(Self.cardHeight + gap)
            for (index, card) in report.cards[start..<min(start + perRow, report.cards.count)].enumerated() {
                let x = left + Double(index) * (cardWidth + gap)
                try canvas.rectangle(
                    x: x, y: y, width: cardWidth, height: Self.cardHeight, fill: .band, stroke: .rule, lineWidth: 0.6)
                let inner = cardWidth - 12
                try canvas.text(
                    try fit(card.title, width: inner, size: 8), x: x + 6, y: y + 13, size: 8, bold: false,
                    colour: .muted)
                try canvas.text(
                    try fit(card.value, width: inner, size: 15, bold: true), x: x + 6, y: y + 34, size: 15, bold: true,
                    colour: Self.colour(card.tone))
                try canvas.text(
                    try fit(card.detail, width: inner, size: 7), x: x + 6, y: y + 49, size: 7, bold: false,
                    colour: .muted)
            }
            y += Self.cardHeight + gap
        }
        y += 6
    }

    mutating func section(_ section: PeriodReport.Section) throws {
        // A heading is never left alone at the bottom of a page: its first block starts under it.
        let first: Double
        switch section.blocks.first {
        case .chart?: first = Self.chartHeight + 40
        case .paragraph?: first = 13
        case .table?, nil: first = 2 * Self.rowHeight
        }
        try ensure(30 + first)
        y += 16
        try canvas.text(
            try fit(section.title, width: width, size: 13, bold: true), x: left, y: y, size: 13, bold: true,
            colour: .text)
        y += 5
        try canvas.rectangle(x: left, y: y, width: width, height: 0.6, fill: .rule, stroke: nil, lineWidth: 0)
        y += 6
        for block in section.blocks {
            switch block {
            case .paragraph(let text): try paragraph(text)
            case .table(let table): try self.table(table)
            case .chart(let chart): try self.chart(chart)
            }
        }
        y += 6
    }

    mutating func paragraph(_ text: String) throws {
        for line in try wrap(text, width: width, size: 9) {
            try ensure(13)
            y += 12
            try canvas.text(line, x: left, y: y, size: 9, bold: false, colour: .text)
        }
        y += 4
    }

    mutating func table(_ table: PeriodReport.Table) throws {
        let total = table.columns.map(\.width).reduce(0, +)
        let widths = table.columns.map { total > 0 ? $0.width / total * width : width / Double(table.columns.count) }
        try ensure(Self.rowHeight * 2 + 4)
        try tableRow(table.columns.map(\.title), table: table, widths: widths, header: true)
        if table.rows.isEmpty {
            y += Self.rowHeight
            try canvas.text(
                try fit(table.empty, width: width, size: 8), x: left + 3, y: y - 4, size: 8, bold: false, colour: .muted
            )
        }
        for row in table.rows {
            if y + Self.rowHeight > bottom {
                try nextPage()
                try tableRow(table.columns.map(\.title), table: table, widths: widths, header: true)
            }
            try tableRow(row, table: table, widths: widths, header: false)
        }
        y += 8
    }

    mutating func tableRow(_ cells: [String], table: PeriodReport.Table, widths: [Double], header: Bool) throws {
        if header {
            try canvas.rectangle(
                x: left, y: y, width: width, height: Self.rowHeight, fill: .band, stroke: nil, lineWidth: 0)
        }
        var x = left
        for (index, column) in table.columns.enumerated() {
            let cell = index < cells.count ? cells[index] : ""
            let text = try fit(cell, width: widths[index] - 6, size: 8, bold: header)
            let textX =
                column.alignRight
                ? x + widths[index] - 3 - (try canvas.textWidth(text, size: 8, bold: header)) : x + 3
            try canvas.text(text, x: textX, y: y + Self.rowHeight - 4, size: 8, bold: header, colour: .text)
            x += widths[index]
        }
        y += Self.rowHeight
        try canvas.rectangle(x: left, y: y, width: width, height: 0.4, fill: .rule, stroke: nil, lineWidth: 0)
    }

    /// Starts a new page when less than `height` is left on this one.
    mutating func ensure(_ height: Double) throws {
        if y + height > bottom { try nextPage() }
    }

    mutating func nextPage() throws {
        try footer()
        try canvas.newPage()
        page += 1
        y = Self.margin
    }

    func footer() throws {
        let text = "\(PeriodReport.title) · \(report.host ?? "all hosts") · last \(report.period) · page \(page)"
        try canvas.text(
            text, x: left, y: canvas.pageHeight - Self.margin, size: 7, bold: false, colour: .muted)
    }

    /// `text`, cut with an ellipsis to fit `width`.
    func fit(_ text: String, width: Double, size: Double, bold: Bool = false) throws -> String {
        guard try canvas.textWidth(text, size: size, bold: bold) > width else { return text }
        let characters = Array(text)
        var low = 0
        var high = characters.count
        while low < high {
            let middle = (low + high + 1) / 2
            let candidate = String(characters[..<middle]) + "…"
            if try canvas.textWidth(candidate, size: size, bold: bold) <= width {
                low = middle
            } else {
                high = middle - 1
            }
        }
        return String(characters[..<low]) + "…"
    }

    /// `text` broken into lines of at most `width` at spaces (a word too long is cut).
    func wrap(_ text: String, width: Double, size: Double) throws -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if try canvas.textWidth(candidate, size: size, bold: false) <= width || line.isEmpty {
                line = candidate
            } else {
                lines.append(try fit(line, width: width, size: size))
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(try fit(line, width: width, size: size)) }
        return lines
    }

    static func colour(_ tone: PeriodReport.Tone) -> ReportColour {
        switch tone {
        case .neutral: .text
        case .good: .good
        case .warning: .warning
        case .critical: .critical
        }
    }
}
