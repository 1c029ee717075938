import MonCore

/// A report over one period, ready to draw: the header, health cards and sections of
/// paragraphs, tables and charts, all as text and numbers. `ReportBuilder` fills it from the
/// database (`PeriodReport(figures:)`); `ReportLayout` draws it, so the layout is tested on a
/// plain value.
public struct PeriodReport: Sendable {
    /// One health card: a title, the period's figure, and a line under it (the previous period).
    public struct Card: Sendable, Equatable {
        public var title: String
        public var value: String
        public var detail: String
        public var tone: Tone

        public init(title: String, value: String, detail: String, tone: Tone = .neutral) {
            self.title = title
            self.value = value
            self.detail = detail
            self.tone = tone
        }
    }

    /// How a figure reads: the card's value colour.
    public enum Tone: Sendable, Equatable {
        case neutral, good, warning, critical
    }

    public struct Column: Sendable, Equatable {
        public var title: String
        /// Share of the table's width (the shares of a table are scaled to sum to 1).
        public var width: Double
        public var alignRight: Bool

        public init(_ title: String, width: Double, alignRight: Bool = false) {
            self.title = title
            self.width = width
            self.alignRight = alignRight
        }
    }

    public struct Table: Sendable, Equatable {
        public var columns: [Column]
        public var rows: [[String]]
        /// What stands in for the rows when there are none.
        public var empty: String

        public init(columns: [Column], rows: [[String]], empty: String) {
            self.columns = columns
            self.rows = rows
            self.empty = empty
        }
    }

    /// A line chart over the period: one line per series, values in `unit`.
    public struct Chart: Sendable {
        public struct Series: Sendable {
            public var name: String
            public var points: [(ms: Int64, value: Double)]

            public init(name: String, points: [(ms: Int64, value: Double)]) {
                self.name = name
                self.points = points
            }
        }

        public var title: String
        public var unit: String
        public var startMs: Int64
        public var endMs: Int64
        public var series: [Series]

        public init(title: String, unit: String, startMs: Int64, endMs: Int64, series: [Series]) {
            self.title = title
            self.unit = unit
            self.startMs = startMs
            self.endMs = endMs
            self.series = series
        }
    }

    public enum Block: Sendable {
        case paragraph(String)
        case table(Table)
        case chart(Chart)
    }

    public struct Section: Sendable {
        public var title: String
        public var blocks: [Block]

        public init(title: String, blocks: [Block]) {
            self.title = title
            self.blocks = blocks
        }
    }

    public static let title = "MnemoLite monitoring report"

    /// `24h` or `7d`.
    public var period: String
    public var startMs: Int64
    public var endMs: Int64
    /// One host, or nil for all hosts.
    public var host: String?
    public var generatedMs: Int64
    public var cards: [Card]
    public var sections: [Section]

    public init(
        period: String, startMs: Int64, endMs: Int64, host: String?, generatedMs: Int64, cards: [Card],
        sections: [Section]
    ) {
        self.period = period
        self.startMs = startMs
        self.endMs = endMs
        self.host = host
        self.generatedMs = generatedMs
        self.cards = cards
        self.sections = sections
    }

    /// The header's lines under the title.
    public var headerLines: [String] {
        [
            "Period: last \(period), \(Self.time(startMs)) – \(Self.time(endMs)) UTC",
            "Host: \(host ?? "all hosts")",
            "Generated at \(Self.time(generatedMs, seconds: true)) UTC",
            "Compared with the previous \(period): \(Self.time(startMs - (endMs - startMs))) – \(Self.time(startMs)) UTC",
        ]
    }

    /// `2026-12-06 03:00` (UTC), with seconds when asked.
    public static func time(_ ms: Int64, seconds: Bool = false) -> String {
        let iso = Timestamp.iso8601(ms: ms)  // 2026-12-06T03:00:00.000Z
        return String(iso.prefix(seconds ? 19 : 16).map { $0 == "T" ? " " : $0 })
    }
}
