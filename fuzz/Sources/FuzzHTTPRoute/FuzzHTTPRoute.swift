// Fuzz target: monquery's request-target check and route access decision (issue 18).
//
// The first byte picks the method (bits 0–1: GET, POST, HEAD, PUT), the credential the
// request presents (bits 2–3: none, an invalid token, a viewer token, an admin token) and
// `prometheus.require_token` (bit 4); the rest is the request target as sent on the request
// line (path and query). It goes through RequestTarget.check (the one check in front of the
// router), then RouteCatalogue.rule (the route the router matches: exact, the target being
// canonical) and AccessPolicy.decide (tokens configured) — the same MonCore code monquery runs.
// Invariants:
//  - an accepted target is canonical: its text is the input, it checks again to itself, its
//    path has no empty, `.` or `..` segment and only unreserved bytes, within the limits;
//  - a refused target has a reason, 414 exactly for over-long ones, a short message without
//    raw control bytes;
//  - no target that differs from a protected route's path only by what a lax router
//    normalises (empty and dot segments, `%` escapes, `\`, `;params`, case, a scheme and host)
//    is granted without a credential: it is refused, or matches no route, or is that route;
//  - without a credential no protected route is allowed; a viewer token never reaches an
//    admin route; an invalid token never reaches any protected route.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit

let methods = ["GET", "POST", "HEAD", "PUT"]
let credentials: [AccessPolicy.Credential] = [.none, .invalidToken, .token(.viewer), .token(.admin)]

/// What a lax router would make of a target: scheme and host dropped (absolute form only: a
/// `://` before the first `/`, `?` or `#`; one inside the query is query text), cut at
/// `?`/`#`, `%XX` decoded, `\` as `/`, `;params` dropped, lower case, empty and dot segments
/// resolved.
func laxPath(_ bytes: [UInt8]) -> String {
    var text = bytes
    let pathStart =
        text.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
        ?? text.count
    if let scheme = find(Array("://".utf8), in: text), scheme < pathStart {
        text = Array(text[(scheme + 3)...])
        text = text.firstIndex(of: UInt8(ascii: "/")).map { Array(text[$0...]) } ?? []
    }
    if let end = text.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
        text = Array(text[..<end])
    }
    let decoded = percentDecoded(text, plusAsSpace: false)
    let slashed = decoded.map { $0 == UInt8(ascii: "\\") ? UInt8(ascii: "/") : $0 }
    var segments: [String] = []
    for raw in slashed.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
        let segment = String(decoding: raw.prefix { $0 != UInt8(ascii: ";") }, as: UTF8.self).lowercased()
        switch segment {
        case "", ".": continue
        case "..": _ = segments.popLast()
        default: segments.append(segment)
        }
    }
    return "/" + segments.joined(separator: "/")
}

func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return start
    }
    return nil
}

func isUnreservedOrSlash(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || Array("-._~/".utf8).contains(byte)
}

let protectedPaths = Set(RouteCatalogue.rules.filter { !$0.access.isOpen(metricsRequireToken: true) }.map(\.path))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let selector = input.first else { return 0 }
    let method = methods[Int(selector & 3)]
    let credential = credentials[Int((selector >> 2) & 3)]
    let policy = AccessPolicy(authEnabled: true, metricsRequireToken: selector & 16 != 0)
    let bytes = Array(input.dropFirst())

    let target: RequestTarget
    do {
        target = try RequestTarget.check(bytes)
    } catch {
        invariant(!error.message.isEmpty && error.message.utf8.count < 400, "message: \(error.message)")
        invariant(!error.message.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "raw control byte in the message")
        invariant(
            (error.status == 414) == (error.reason == .tooLong) && (error.status == 414 || error.status == 400),
            "status \(error.status) for \(error.reason)")
        if bytes.first == UInt8(ascii: "/") && bytes.count > RequestTarget.maxTargetBytes {
            invariant(error.reason == .tooLong, "an over-long target refused as \(error.reason)")
        }
        return 0
    }

    // Canonical: as sent, stable, and made only of what the rules allow.
    invariant(Array(target.text.utf8) == bytes, "accepted target differs from the input")
    invariant((try? RequestTarget.check(Array(target.text.utf8))) == target, "accepted target does not re-check")
    let path = Array(target.path.utf8)
    invariant(path.first == UInt8(ascii: "/") && path.count <= RequestTarget.maxPathBytes, "path shape")
    invariant(bytes.count <= RequestTarget.maxTargetBytes, "target over the limit accepted")
    invariant(path.allSatisfy(isUnreservedOrSlash), "a byte outside the path alphabet was accepted")
    if path.count > 1 {
        for segment in path.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            invariant(!segment.isEmpty, "empty segment accepted in \(target.path)")
            invariant(
                !segment.elementsEqual(Array(".".utf8)) && !segment.elementsEqual(Array("..".utf8)),
                "dot segment accepted in \(target.path)")
        }
    }
    if let query = target.query {
        invariant(query.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E && $0 != UInt8(ascii: "#") }, "query bytes")
    }
    invariant(laxPath(Array(target.path.utf8)).lowercased() == target.path.lowercased(), "canonical = its lax form")

    // The route and the decision, as monquery takes them.
    let rule = RouteCatalogue.rule(method: method, path: target.path)
    let lax = laxPath(bytes)
    if protectedPaths.contains(lax) && target.path != lax {
        invariant(rule == nil, "\(target.path) is a lax spelling of \(lax) but matched a route")
    }
    guard let rule else { return 0 }
    invariant(
        RouteCatalogue.matches(template: rule.path, path: target.path) && rule.method == method,
        "the rule is not the one asked for")
    let decision = policy.decide(rule.access, credential)
    if decision == .allow {
        switch credential {
        case .none, .invalidToken, .session:
            invariant(
                rule.access.isOpen(metricsRequireToken: policy.metricsRequireToken),
                "\(method) \(rule.path) (\(rule.access)) allowed with \(credential)")
        case .token(.viewer):
            invariant(rule.access != .admin, "a viewer reached the admin route \(rule.path)")
        case .token(.admin):
            break
        }
    } else {
        invariant(!rule.access.isOpen(metricsRequireToken: policy.metricsRequireToken), "open route refused")
    }
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzHTTPRoute_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
