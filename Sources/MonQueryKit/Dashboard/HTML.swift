import MonCore

/// A fragment of HTML (or inline SVG) that is safe to send: built by string interpolation
/// in which every `String` is escaped and only other `HTML` values go in as they are.
///
/// Metric labels, log lines, host names and query texts come from outside; with this type
/// the safe way is the short one: `"<td>\(label)</td>" as HTML` escapes `label`, and raw
/// text needs the visible `HTML(raw:)`.
public struct HTML: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public private(set) var text: String

    /// Markup written by this program (never text that came from outside).
    public init(raw text: String) { self.text = text }

    public init(stringLiteral value: String) { text = value }

    public init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }

    public static let empty = HTML(raw: "")

    public var description: String { text }
    public var isEmpty: Bool { text.isEmpty }

    public static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(raw: lhs.text + rhs.text) }
    public static func += (lhs: inout HTML, rhs: HTML) { lhs.text += rhs.text }

    /// `&`, `<`, `>`, `"` and `'` as character references, so the text is inert in element
    /// content and in quoted attribute values alike; control characters other than tab,
    /// line feed and carriage return (invalid in HTML) become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Query string of a link: `?a=1&b=x%20y`, values percent-encoded (RFC 3986 unreserved
    /// characters kept); pairs with a nil value are left out. Escape the result with the
    /// rest of the attribute (interpolate it as a `String`).
    public static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { name, value in value.map { percentEncode(name) + "=" + percentEncode($0) } }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    public static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity * 2) }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        /// Text from anywhere: escaped.
        public mutating func appendInterpolation(_ value: String) { text += HTML.escape(value) }

        public mutating func appendInterpolation(_ value: Substring) { text += HTML.escape(String(value)) }

        /// Markup: as it is.
        public mutating func appendInterpolation(_ value: HTML) { text += value.text }

        public mutating func appendInterpolation(_ values: [HTML]) {
            for value in values { text += value.text }
        }

        public mutating func appendInterpolation(_ value: Int) { text += String(value) }

        /// A coordinate or size in SVG: at most 2 decimals, never an exponent.
        public mutating func appendInterpolation(_ value: Double) { text += DashboardFormat.coordinate(value) }
    }
}

extension Array where Element == HTML {
    public func joined(separator: HTML = .empty) -> HTML {
        HTML(raw: map(\.text).joined(separator: separator.text))
    }
}
