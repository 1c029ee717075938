import Foundation
import Hummingbird
import HummingbirdTesting
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

@testable import MonQuery

/// The route table, the access catalogue and the gate, through the real router (no database:
/// every authorized request ends in 503, which is how the tests tell "past the gate").
@Suite struct RouteGateTests {
    static let viewer = "viewer-token"
    static let admin = "admin-token"

    static func app(failuresPerMinute: Int = 10) -> some ApplicationProtocol {
        let authenticator = Authenticator(tokens: [
            .init(name: "ui", role: .viewer, hash: SHA256.hash(Array(viewer.utf8))),
            .init(name: "ops", role: .admin, hash: SHA256.hash(Array(admin.utf8))),
        ])
        let api = API(
            stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]), stats: IngestStats(),
            authenticator: authenticator,
            // A fixed time: the throttle's minute does not pass while a loaded run is slow.
            authThrottle: AuthThrottle(limit: failuresPerMinute, capacity: 64, clock: { 1_796_350_200_000 }))
        return Application(router: buildRouter(api, protectMetrics: true))
    }

    @Test("the router serves exactly the catalogue's routes, and each route reads its access from it")
    func catalogueMatchesRoutes() {
        let routes = Set(API.routes.map { "\($0.method.rawValue) \($0.path)" })
        let rules = Set(RouteCatalogue.rules.map { "\($0.method) \($0.path)" })
        #expect(
            routes == rules,
            "only in routes: \(routes.subtracting(rules)); only in the catalogue: \(rules.subtracting(routes))")
        for route in API.routes {
            #expect(RouteCatalogue.rule(method: route.method.rawValue, path: route.path)?.access == route.access)
        }
    }

    @Test("every route without a token: open ones pass, the rest 401 (API) or 303 (dashboard)")
    func everyRouteWithoutToken() async throws {
        try await Self.app().test(.router) { client in
            for route in API.routes {
                try await client.execute(uri: RouteCatalogue.example(route.path), method: route.method) { response in
                    switch route.access {
                    case .open where route.path == "/":
                        #expect(response.status == .seeOther, "\(route.path)")
                    case .open, .login:
                        #expect(response.status.code != 401 && response.status.code != 303, "\(route.path)")
                    case .scrape, .viewer, .admin:
                        #expect(response.status == .unauthorized, "\(route.path)")
                    case .session:
                        #expect(response.status == .seeOther, "\(route.path)")
                    }
                }
            }
        }
    }

    @Test("/ redirects to the dashboard, which still asks for its session; no parameter moves the target")
    func rootRedirect() async throws {
        try await Self.app().test(.router) { client in
            for headers: HTTPFields in [[:], [.authorization: "Bearer not-a-token"], [.cookie: "monquery_session=x"]] {
                try await client.execute(uri: "/", method: .get, headers: headers) { response in
                    #expect(response.status == .seeOther)
                    #expect(response.headers[.location] == "/ui/monitoring/advanced")
                    #expect(response.headers[.setCookie] == nil)
                    #expect(response.body.readableBytes == 0)
                }
            }
            try await client.execute(uri: "/ui/monitoring/advanced", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location]?.hasPrefix("/ui/login?next=") == true)
            }
            for target in ["/?next=//evil.example/", "/?next=/ui/login"] {
                try await client.execute(uri: target, method: .get) { response in
                    #expect(response.status == .badRequest, "\(target)")
                    #expect(response.headers[.location] == nil)
                }
            }
        }
    }

    @Test("a viewer token: admin routes 403, viewer routes past the gate")
    func viewerToken() async throws {
        let headers: HTTPFields = [.authorization: "Bearer \(Self.viewer)"]
        try await Self.app().test(.router) { client in
            for route in API.routes where route.access == .admin || route.access == .viewer {
                try await client.execute(
                    uri: RouteCatalogue.example(route.path), method: route.method, headers: headers
                ) { response in
                    if route.access == .admin {
                        #expect(response.status == .forbidden, "\(route.path)")
                    } else {
                        #expect(response.status != .unauthorized && response.status != .forbidden, "\(route.path)")
                    }
                }
            }
        }
    }

    @Test(
        "non-canonical targets: 400 naming the problem, before routing and auth (admin token or not)",
        arguments: [
            "//api/monitoring/logs", "/api//monitoring/logs", "/api/monitoring/logs/", "/./api/monitoring/logs",
            "/api/monitoring/../monitoring/logs", "/api%2Fmonitoring/logs", "/%61pi/monitoring/logs", "//metrics",
            "//ui/monitoring/advanced", "/api/monitoring/logs;x",
        ])
    func nonCanonical(_ target: String) async throws {
        try await Self.app().test(.router) { client in
            for token in [nil, Self.admin] {
                var headers = HTTPFields()
                if let token { headers[.authorization] = "Bearer \(token)" }
                try await client.execute(uri: target, method: .get, headers: headers) { response in
                    #expect(response.status == .badRequest, "\(target)")
                    let body = try #require(
                        try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                    let message = (body["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("'/") || message.contains("segment"), "\(target): \(message)")
                }
            }
        }
    }

    @Test(
        "login's next must be a canonical /ui/ target",
        arguments: ["/ui/../../evil", "/ui/./monitoring/advanced", "/ui/%2e%2e/metrics", "//evil.example/ui/"])
    func loginNext(_ next: String) async throws {
        try await Self.app().test(.router) { client in
            let query = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            try await client.execute(uri: "/ui/login?next=\(query)", method: .get) { response in
                #expect(response.status == .badRequest, "\(next)")
            }
        }
    }

    @Test("failed bearer tokens: 401 up to the limit, then 429 with Retry-After even for a valid token")
    func throttle() async throws {
        try await Self.app(failuresPerMinute: 3).test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(
                    uri: "/api/monitoring/system/cpu", method: .get, headers: [.authorization: "Bearer wrong"]
                ) { #expect($0.status == .unauthorized) }
            }
            for token in ["wrong", Self.admin] {
                try await client.execute(
                    uri: "/api/monitoring/system/cpu", method: .get, headers: [.authorization: "Bearer \(token)"]
                ) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(Int(response.headers[.retryAfter] ?? "").map { $0 >= 1 && $0 <= 60 } == true)
                }
            }
            // A request presenting no credential is not throttled: /health stays open.
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}
