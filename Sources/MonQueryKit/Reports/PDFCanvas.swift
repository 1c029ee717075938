import CCairo

/// A PDF document drawn with cairo, its bytes kept in memory (`finish`), so they can go to a
/// file or to the database alike. The one file that imports `CCairo`: no cairo pointer leaves
/// it. Text is DejaVu Sans through cairo's toy font API (fonts-dejavu-core; fontconfig picks
/// a substitute when it is missing); every call checks cairo's status and throws a
/// `ReportError` (code `pdf`) that names the drawing that failed.
public final class PDFCanvas: ReportCanvas {
    public let pageWidth: Double
    public let pageHeight: Double
    /// Where cairo's stream writes the document's bytes.
    private final class Sink {
        var bytes: [UInt8] = []
    }
    private let sink = Sink()
    private let surface: OpaquePointer
    private let context: OpaquePointer
    private var finished = false

    /// The font family of every text.
    public static let fontFamily = "DejaVu Sans"

    /// A new document of one empty page, `pageWidth` × `pageHeight` points (A4 by default),
    /// with `title` in its metadata.
    public init(pageWidth: Double = 595, pageHeight: Double = 842, title: String) throws {
        self.pageWidth = pageWidth
        self.pageHeight = pageHeight
        let closure = Unmanaged.passUnretained(sink).toOpaque()
        let surface = cairo_pdf_surface_create_for_stream(
            { closure, data, length in
                guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
                let sink = Unmanaged<Sink>.fromOpaque(closure).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
                return CAIRO_STATUS_SUCCESS
            }, closure, pageWidth, pageHeight)
        // cairo answers an "error surface" rather than NULL; its status says what failed.
        guard let surface else { throw ReportError("pdf", "cairo could not create a PDF surface") }
        let surfaceStatus = cairo_surface_status(surface)
        guard surfaceStatus == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw ReportError("pdf", "creating the PDF surface: \(Self.describe(surfaceStatus))")
        }
        guard let context = cairo_create(surface) else {
            cairo_surface_destroy(surface)
            throw ReportError("pdf", "cairo could not create a drawing context")
        }
        self.surface = surface
        self.context = context
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "monquery")
        try check("creating the drawing context")
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    public func textWidth(_ text: String, size: Double, bold: Bool) throws -> Double {
        selectFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        try check("measuring text")
        return extents.x_advance
    }

    public func text(_ text: String, x: Double, y: Double, size: Double, bold: Bool, colour: ReportColour) throws {
        selectFont(size: size, bold: bold)
        setColour(colour)
        cairo_move_to(context, x, y)
        cairo_show_text(context, text)
        try check("drawing text '\(text.prefix(40))'")
    }

    public func rectangle(
        x: Double, y: Double, width: Double, height: Double, fill: ReportColour?, stroke: ReportColour?,
        lineWidth: Double
    ) throws {
        if let fill {
            setColour(fill)
            cairo_rectangle(context, x, y, width, height)
            cairo_fill(context)
        }
        if let stroke {
            setColour(stroke)
            cairo_set_line_width(context, lineWidth)
            cairo_rectangle(context, x, y, width, height)
            cairo_stroke(context)
        }
        try check("drawing a rectangle")
    }

    public func polyline(_ points: [(x: Double, y: Double)], colour: ReportColour, lineWidth: Double) throws {
        guard let first = points.first else { return }
        setColour(colour)
        cairo_set_line_width(context, lineWidth)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_move_to(context, first.x, first.y)
        for point in points.dropFirst() { cairo_line_to(context, point.x, point.y) }
        cairo_stroke(context)
        try check("drawing a line of \(points.count) points")
    }

    public func newPage() throws {
        cairo_show_page(context)
        try check("starting a new page")
    }

    /// Ends the document: the PDF's bytes. The canvas draws nothing after.
    public func finish() throws -> [UInt8] {
        guard !finished else { throw ReportError("pdf", "the PDF document was already finished") }
        finished = true
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw ReportError("pdf", "finishing the PDF document: \(Self.describe(status))")
        }
        return sink.bytes
    }

    private func selectFont(size: Double, bold: Bool) {
        cairo_select_font_face(
            context, Self.fontFamily, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    private func setColour(_ colour: ReportColour) {
        cairo_set_source_rgb(context, colour.red, colour.green, colour.blue)
    }

    /// Throws when the context is in an error state (cairo's errors are sticky: the first one
    /// stays and every later call does nothing).
    private func check(_ what: String) throws {
        guard !finished else { throw ReportError("pdf", "\(what): the PDF document was already finished") }
        let status = cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw ReportError("pdf", "\(what): \(Self.describe(status))")
        }
    }

    private static func describe(_ status: cairo_status_t) -> String {
        "cairo status \(status.rawValue) (\(String(cString: cairo_status_to_string(status))))"
    }
}

@available(*, unavailable)
extension PDFCanvas: Sendable {}
