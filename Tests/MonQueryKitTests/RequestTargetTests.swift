import Testing

@testable import MonCore
@testable import MonQueryKit

/// The request-target check in front of monquery's router (issue 18): only canonical targets
/// pass, as sent; everything a lax router would normalise is refused with a reason.
@Suite struct RequestTargetTests {
    static let accepted: [String] = [
        "/", "/health", "/health/detailed", "/metrics", "/openapi.json", "/api/monitoring/logs",
        "/api/monitoring/logs?level=error&q=%22a%20b%22", "/api/monitoring/export?type=logs&period=1h",
        "/ui/assets/dashboard.css", "/API/monitoring/logs", "/api/monitoring/logs?", "/api/monitoring/logs?a=1&a=2",
        "/api/monitoring/postgres/slow_queries?limit=5", "/x~y-z_1.2", "/api/monitoring/logs?next=/ui//x",
        "/ui/login?next=%2Fui%2Fmonitoring%2Fadvanced",
    ]

    @Test("canonical targets pass unchanged", arguments: accepted)
    func accepts(_ text: String) throws {
        let target = try RequestTarget(parsing: text)
        #expect(target.text == text)
        #expect(!target.path.contains("?"))
        #expect(try RequestTarget(parsing: target.text) == target)
    }

    static let refused: [(String, RequestTarget.Rejection.Reason)] = [
        ("", .notOriginForm),
        ("api/monitoring/logs", .notOriginForm),
        ("http://x/api/monitoring/logs", .notOriginForm),
        ("*", .notOriginForm),
        ("//api/monitoring/logs", .emptySegment),
        ("/api//monitoring/logs", .emptySegment),
        ("/api/monitoring/logs/", .emptySegment),
        ("//metrics", .emptySegment),
        ("//", .emptySegment),
        ("/metrics//", .emptySegment),
        ("/api/monitoring/logs//?a=1", .emptySegment),
        ("/./api/monitoring/logs", .dotSegment),
        ("/api/monitoring/../monitoring/logs", .dotSegment),
        ("/api/monitoring/logs/.", .dotSegment),
        ("/..", .dotSegment),
        ("/api%2Fmonitoring/logs", .percentEscape),
        ("/%2e/api/monitoring/logs", .percentEscape),
        ("/%61pi/monitoring/logs", .percentEscape),
        ("/api/monitoring/logs%00", .percentEscape),
        ("/api/monitoring/logs\u{0}", .controlByte),
        ("/api/monitoring/logs\t", .controlByte),
        ("/api/monitoring/logs?q=a\u{7F}", .controlByte),
        ("/api/monitoring/lögs", .nonASCII),
        ("/api/monitoring/logs?q=é", .nonASCII),
        ("/api/monitoring/logs;x=1", .disallowedByte),
        ("/api\\monitoring\\logs", .disallowedByte),
        ("/api/monitoring/logs ", .disallowedByte),
        ("/api/monitoring/logs?q=a b", .disallowedByte),
        ("/api/monitoring/logs#frag", .fragment),
        ("/api/monitoring/logs?a=1#frag", .fragment),
        ("/" + String(repeating: "a", count: 2049), .tooLong),
        ("/a?" + String(repeating: "b", count: 8192), .tooLong),
        // FuzzHTTPRoute: 80 escaped bytes quoted in full made a 400-byte message.
        ("/ " + String(repeating: "\u{0}", count: 200), .disallowedByte),
    ]

    @Test("non-canonical targets are refused with the reason", arguments: refused)
    func refuses(_ text: String, _ reason: RequestTarget.Rejection.Reason) {
        #expect(throws: RequestTarget.Rejection.self) { try RequestTarget(parsing: text) }
        do {
            _ = try RequestTarget(parsing: text)
        } catch {
            #expect(error.reason == reason, "\(text.prefix(60)): \(error.message)")
            #expect(error.status == (reason == .tooLong ? 414 : 400))
            #expect(error.message.utf8.count < 300, "messages stay short")
            #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 }, "no raw control bytes echoed")
        }
    }

    @Test("garbage bytes: refused or canonical, never a crash")
    func garbage() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            if let target = try? RequestTarget.check([UInt8(ascii: "/")] + bytes) {
                #expect(Array(target.text.utf8) == [UInt8(ascii: "/")] + bytes)
            }
        }
    }
}

@Suite struct RouteCatalogueTests {
    @Test("every path is canonical, every (method, path) once, and the admin routes are the issue's")
    func table() throws {
        for rule in RouteCatalogue.rules {
            let path = RouteCatalogue.example(rule.path)
            #expect(try RequestTarget(parsing: path).path == path)
            #expect(RouteCatalogue.rule(method: rule.method, path: path) == rule)
        }
        let keys = RouteCatalogue.rules.map { $0.method + " " + $0.path }
        #expect(Set(keys).count == keys.count)
        let admin = RouteCatalogue.rules.filter { $0.access == .admin }.map(\.path)
        // Logs (a record may hold anything the application logged), exports and reports.
        #expect(
            admin == [
                "/api/monitoring/logs", "/api/monitoring/logs/stream", "/api/monitoring/logs/{id}",
                "/api/monitoring/export", "/api/monitoring/reports", "/api/monitoring/reports/{id}.pdf",
            ])
        // A constant segment wins over a path parameter: the stream is not record "stream".
        #expect(
            RouteCatalogue.rule(method: "GET", path: "/api/monitoring/logs/stream")?.path
                == "/api/monitoring/logs/stream")
        #expect(
            RouteCatalogue.rule(method: "GET", path: "/api/monitoring/logs/42")?.path == "/api/monitoring/logs/{id}")
        #expect(RouteCatalogue.access(method: "GET", path: "/api/monitoring/nothing") == .admin, "fail closed")
        #expect(RouteCatalogue.rule(method: "GET", path: "/api//monitoring/logs") == nil)
        #expect(RouteCatalogue.protectedPaths.contains("/metrics"))
        #expect(!RouteCatalogue.protectedPaths.contains("/health/detailed"))
        #expect(
            RouteCatalogue.rules.allSatisfy {
                !$0.path.hasPrefix("/api/") || $0.access == .viewer || $0.access == .admin
            })
    }
}

@Suite struct AccessPolicyTests {
    static let on = AccessPolicy(authEnabled: true, metricsRequireToken: true)

    @Test("decisions of every access level for every credential")
    func decisions() {
        typealias D = AccessPolicy.Decision
        let cases: [(RouteAccess, AccessPolicy.Credential, D)] = [
            (.open, .none, .allow), (.open, .invalidToken, .allow), (.login, .none, .allow),
            (.scrape, .none, .unauthorized(missing: true)), (.scrape, .token(.viewer), .allow),
            (.viewer, .none, .unauthorized(missing: true)), (.viewer, .invalidToken, .unauthorized(missing: false)),
            (.viewer, .session, .unauthorized(missing: true)), (.viewer, .token(.viewer), .allow),
            (.viewer, .token(.admin), .allow), (.admin, .token(.viewer), .forbidden(needs: .admin)),
            (.admin, .token(.admin), .allow), (.admin, .none, .unauthorized(missing: true)),
            (.admin, .session, .unauthorized(missing: true)), (.session, .none, .loginRequired),
            (.session, .invalidToken, .loginRequired), (.session, .token(.viewer), .forbidden(needs: .admin)),
            (.session, .token(.admin), .allow), (.session, .session, .allow),
        ]
        for (access, credential, expected) in cases {
            #expect(Self.on.decide(access, credential) == expected, "\(access) \(credential)")
        }
        let scrapeOpen = AccessPolicy(authEnabled: true, metricsRequireToken: false)
        #expect(scrapeOpen.decide(.scrape, .none) == .allow)
        let off = AccessPolicy(authEnabled: false, metricsRequireToken: false)
        for access in RouteAccess.allCases { #expect(off.decide(access, .none) == .allow) }
    }
}
