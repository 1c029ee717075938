import MonCore

/// The request target of an HTTP request (`/api/monitoring/logs?level=error`), checked once,
/// before routing and authorization: only canonical targets pass, so the router, the access
/// check and the handler all see the same path.
///
/// Rules (each refusal names the byte at fault):
/// - origin form only: the target starts with `/` (no `http://host/...`, no `*`, no `path`);
/// - the path has no empty segment (`//`, a trailing `/`; `/` alone is allowed), no `.` or `..`
///   segment, and only the bytes `A–Z a–z 0–9 - . _ ~ /` (no `%` escape at all: every route is
///   plain ASCII, so `%2F`, `%2e`, `%61pi` are refused, and so are `;`, `\`, `:`, `@`, …);
/// - the query (after the first `?`) has only visible ASCII (0x21–0x7E) and no `#`;
/// - no control byte, no NUL, no byte ≥ 0x80 anywhere;
/// - the path is at most `maxPathBytes`, the whole target at most `maxTargetBytes` (414).
///
/// A target is accepted as it is or refused; it is never rewritten, so an accepted target is
/// its own canonical form.
public struct RequestTarget: Sendable, Equatable {
    /// `/api/monitoring/logs`.
    public var path: String
    /// What follows the first `?`, without it; nil when there is no `?`.
    public var query: String?

    /// Longest accepted path (bytes); every route is far shorter.
    public static let maxPathBytes = 2048
    /// Longest accepted target, path and query (bytes).
    public static let maxTargetBytes = 8192

    /// Why a target is refused: a 400 (or 414 when too long) naming the problem.
    public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Reason: String, Sendable, CaseIterable {
            case notOriginForm = "not_origin_form"
            case tooLong = "target_too_long"
            case emptySegment = "empty_segment"
            case dotSegment = "dot_segment"
            case percentEscape = "percent_escape"
            case controlByte = "control_byte"
            case nonASCII = "non_ascii"
            case disallowedByte = "disallowed_byte"
            case fragment = "fragment"
        }

        public var reason: Reason
        public var message: String

        /// 414 URI Too Long for an over-long target, 400 for the rest.
        public var status: Int { reason == .tooLong ? 414 : 400 }
        public var description: String { message }
    }

    /// The text as sent: `path` and, when present, `?query`.
    public var text: String { query.map { path + "?" + $0 } ?? path }

    init(path: String, query: String?) {
        self.path = path
        self.query = query
    }

    public init(parsing text: String) throws(Rejection) {
        self = try Self.check(Array(text.utf8))
    }

    /// The target if `bytes` is canonical, or why not.
    public static func check(_ bytes: [UInt8]) throws(Rejection) -> RequestTarget {
        guard bytes.first == UInt8(ascii: "/") else {
            throw Rejection(
                reason: .notOriginForm,
                message: "the request target \(quoted(bytes)) must be a path starting with '/' (origin form)")
        }
        if bytes.count > maxTargetBytes {
            throw Rejection(
                reason: .tooLong, message: "the request target is \(bytes.count) bytes; at most \(maxTargetBytes)")
        }
        let end = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
        if end > maxPathBytes {
            throw Rejection(reason: .tooLong, message: "the path is \(end) bytes; at most \(maxPathBytes)")
        }
        let pathBytes = bytes[..<end]
        for (index, byte) in pathBytes.enumerated() where !isPathByte(byte) {
            throw refusal(byte, at: index, in: bytes, part: "path")
        }
        try checkSegments(pathBytes)
        var query: String? = nil
        if end < bytes.count {
            let queryBytes = bytes[(end + 1)...]
            for (offset, byte) in queryBytes.enumerated() where !isQueryByte(byte) {
                throw refusal(byte, at: end + 1 + offset, in: bytes, part: "query")
            }
            query = String(decoding: queryBytes, as: UTF8.self)
        }
        return RequestTarget(path: String(decoding: pathBytes, as: UTF8.self), query: query)
    }

    /// `/` alone, or segments that are neither empty nor `.` / `..`.
    static func checkSegments(_ path: ArraySlice<UInt8>) throws(Rejection) {
        guard path.count > 1 else { return }
        var start = path.startIndex + 1
        while true {
            let stop = path[start...].firstIndex(of: UInt8(ascii: "/")) ?? path.endIndex
            let segment = path[start..<stop]
            if segment.isEmpty {
                throw Rejection(
                    reason: .emptySegment,
                    message:
                        "the path \(quoted(Array(path))) has an empty segment at byte \(start) ('//' or a trailing '/')"
                )
            }
            if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual(Array("..".utf8)) {
                throw Rejection(
                    reason: .dotSegment,
                    message:
                        "the path \(quoted(Array(path))) has a '\(String(decoding: segment, as: UTF8.self))' segment")
            }
            guard stop < path.endIndex else { return }
            start = stop + 1
        }
    }

    /// Unreserved characters (RFC 3986) and `/`.
    static func isPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// Visible ASCII but `#` (a fragment is never sent to a server).
    static func isQueryByte(_ byte: UInt8) -> Bool {
        byte >= 0x21 && byte <= 0x7E && byte != UInt8(ascii: "#")
    }

    static func refusal(_ byte: UInt8, at index: Int, in bytes: [UInt8], part: String) -> Rejection {
        let hex = "0x" + String(byte, radix: 16, uppercase: true)
        let target = quoted(bytes)
        switch byte {
        case UInt8(ascii: "%"):
            return Rejection(
                reason: .percentEscape,
                message: "the path of \(target) has a '%' escape at byte \(index); paths are plain ASCII, never escaped"
            )
        case UInt8(ascii: "#"):
            return Rejection(
                reason: .fragment, message: "the request target \(target) has a '#' fragment at byte \(index)")
        case 0..<0x20, 0x7F:
            return Rejection(
                reason: .controlByte, message: "the request target has a control byte \(hex) at byte \(index)")
        case 0x80...:
            return Rejection(
                reason: .nonASCII, message: "the request target has a non-ASCII byte \(hex) at byte \(index)")
        default:
            return Rejection(
                reason: .disallowedByte,
                message:
                    "the \(part) of \(target) has '\(Character(Unicode.Scalar(byte)))' (\(hex)) at byte \(index); a path has only letters, digits, '-', '.', '_', '~' and '/'"
            )
        }
    }

    /// The target for a message: printable ASCII as is, other bytes as `\xNN`, at most 80
    /// characters shown (escapes included), in single quotes.
    static func quoted(_ bytes: [UInt8]) -> String {
        var out = ""
        var shown = 0
        for byte in bytes {
            let piece =
                byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "'") && byte != UInt8(ascii: "\\")
                ? String(Character(Unicode.Scalar(byte)))
                : "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            guard out.utf8.count + piece.utf8.count <= 80 else { break }
            out += piece
            shown += 1
        }
        return "'" + out + (shown < bytes.count ? "…" : "") + "'"
    }
}
