/// Collapses the variable parts of request paths so per-endpoint series stay bounded:
/// `/v1/memories/42?full=1` → `/v1/memories/{id}`.
///
/// A segment becomes `{id}` when it is a number, a UUID, a long hex string (hashes,
/// object ids), or a long token mixing letters and digits. Route templates the app
/// already reports (`/v1/memories/{memory_id}`) are kept as they are.
public enum EndpointNormalizer {
    public static let maxPathBytes = 200
    public static let maxSegments = 12

    public static func normalize(_ raw: String) -> String {
        var path = Substring(raw)
        if let query = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<query] }
        // Absolute URL: keep the path only.
        if let scheme = path.range(of: "://") {
            let rest = path[scheme.upperBound...]
            path = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        var segments: [String] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segments.count == maxSegments {
                segments.append("…")
                break
            }
            segments.append(isIdentifier(segment) ? "{id}" : String(segment))
        }
        var result = "/" + segments.joined(separator: "/")
        if result.utf8.count > maxPathBytes {
            result = result.prefix(utf8Bytes: maxPathBytes) + "…"
        }
        return result
    }

    static func isIdentifier(_ segment: Substring) -> Bool {
        let bytes = Array(segment.utf8)
        guard !bytes.isEmpty else { return false }
        if bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") { return false }
        let digits = bytes.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        if digits == bytes.count { return true }
        let hex = bytes.allSatisfy { isHex($0) || $0 == UInt8(ascii: "-") }
        if hex, bytes.count == 36, bytes.filter({ $0 == UInt8(ascii: "-") }).count == 4 { return true }  // UUID
        if hex, bytes.count >= 16, digits > 0 { return true }  // hashes, object ids
        // Long tokens mixing letters and digits (base64 ids, ULIDs); words like "v1" stay.
        let alphanumeric = bytes.allSatisfy {
            isHex($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_")
                || $0 == UInt8(ascii: "-")
        }
        return alphanumeric && bytes.count >= 20 && digits >= 3
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }
}
