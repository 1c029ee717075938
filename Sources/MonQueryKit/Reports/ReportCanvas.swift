/// What a report's layout draws on: text in DejaVu Sans, rectangles and polylines, in points
/// from the page's top-left corner. `PDFCanvas` draws with cairo; tests record the calls.
public protocol ReportCanvas {
    /// The page size in points (A4 portrait: 595 × 842).
    var pageWidth: Double { get }
    var pageHeight: Double { get }
    /// The advance width of `text` at `size` points.
    func textWidth(_ text: String, size: Double, bold: Bool) throws -> Double
    /// `text` with its baseline starting at (`x`, `y`).
    func text(_ text: String, x: Double, y: Double, size: Double, bold: Bool, colour: ReportColour) throws
    /// A rectangle, filled with `fill` and/or outlined with `stroke` (`lineWidth` points).
    func rectangle(
        x: Double, y: Double, width: Double, height: Double, fill: ReportColour?, stroke: ReportColour?,
        lineWidth: Double) throws
    /// A line through `points`.
    func polyline(_ points: [(x: Double, y: Double)], colour: ReportColour, lineWidth: Double) throws
    /// Ends the current page and starts the next.
    func newPage() throws
}

/// An RGB colour, each component 0…1.
public struct ReportColour: Sendable, Equatable {
    public var red: Double
    public var green: Double
    public var blue: Double

    public init(_ red: Double, _ green: Double, _ blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let text = ReportColour(0.11, 0.13, 0.16)
    public static let muted = ReportColour(0.42, 0.45, 0.50)
    public static let rule = ReportColour(0.80, 0.82, 0.85)
    public static let band = ReportColour(0.94, 0.95, 0.97)
    public static let good = ReportColour(0.13, 0.55, 0.33)
    public static let warning = ReportColour(0.80, 0.52, 0.05)
    public static let critical = ReportColour(0.78, 0.16, 0.16)
    /// The chart series' colours, in order.
    public static let series = [
        ReportColour(0.15, 0.39, 0.78), ReportColour(0.85, 0.37, 0.05), ReportColour(0.13, 0.55, 0.33),
        ReportColour(0.55, 0.27, 0.68),
    ]
}
