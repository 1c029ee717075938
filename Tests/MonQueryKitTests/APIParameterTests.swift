import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MonCore
@testable import MonQuery
@testable import MonQueryKit

/// Bad parameters get 400 with the JSON error body, before any database access.
@Suite struct APIParameterTests {
    static let badRequests: [String] = [
        "/api/monitoring/system/cpu?period=banana",
        "/api/monitoring/system/cpu?step=-1",
        "/api/monitoring/system/cpu?period=1h&step=1s",
        "/api/monitoring/system/cpu?period=5m&step=1h",
        "/api/monitoring/system/memory?period=99999999d",
        "/api/monitoring/system/disk?host=%27%3B%20DROP%20TABLE%20metrics%3B--",
        "/api/monitoring/system/network?colour=blue",
        "/api/monitoring/redis/commands?limit=0",
        "/api/monitoring/redis/commands?limit=201",
        "/api/monitoring/redis/top_keys?period=banana",
        "/api/monitoring/redis/top_keys?limit=5",
        "/api/monitoring/system/cpu?period=1h&period=2h",
        "/api/monitoring/system/cpu?period=",
        "/api/monitoring/metrics",
        "/api/monitoring/metrics?type=nope",
        "/api/monitoring/metrics?type=api&sort=x",
        "/api/monitoring/metrics?type=system&sort=p95",
        "/api/monitoring/logs?level=loud",
        "/api/monitoring/logs?cursor=abc",
        "/api/monitoring/logs?cursor=-1-2",
        "/api/monitoring/logs?limit=0",
        "/api/monitoring/logs?since=forever",
        "/api/monitoring/logs?q=",
        "/api/monitoring/logs?q=%01",
        "/api/monitoring/logs?other=1",
        "/api/monitoring/logs/stream?level=x",
        "/api/monitoring/logs/stream?last_event_id=abc",
        "/api/monitoring/export?format=xml",
        "/api/monitoring/export?type=secrets",
        "/api/monitoring/export?period=9999d",
        "/api/monitoring/traces?min_duration_ms=-1",
        "/api/monitoring/traces?min_duration_ms=NaN",
        "/api/monitoring/traces?min_duration_ms=inf",
        "/api/monitoring/traces?min_duration_ms=1e9",
        "/api/monitoring/traces?min_duration_ms=86400001",
        "/api/monitoring/traces?status=ok",
        "/api/monitoring/traces?limit=501",
        "/api/monitoring/traces?limit=99999999999999999999",
        "/api/monitoring/traces?cursor=12-xyz",
        "/api/monitoring/traces?cursor=12-4BF92F3577B34DA6A3CE929D0E0E4736",
        "/api/monitoring/traces?service=",
        "/api/monitoring/traces?name=%01",
        "/api/monitoring/traces?since=forever",
        "/api/monitoring/traces?trace_id=1",
        "/api/monitoring/traces/xyz",
        "/api/monitoring/traces/4bf92f3577b34da6a3ce929d0e0e473",
        "/api/monitoring/traces/4bf92f3577b34da6a3ce929d0e0e47361",
        "/api/monitoring/traces/4bf92f3577b34da6a3ce929d0e0e473g",
        "/api/monitoring/traces/4bf92f3577b34da6a3ce929d0e0e4736?limit=1",
        "/api/monitoring/reports?limit=0",
        "/api/monitoring/reports?limit=1001",
        "/api/monitoring/reports?limit=99999999999999999999",
        "/api/monitoring/reports?period=1h",
        "/api/monitoring/reports/abc.pdf",
        "/api/monitoring/reports/-1.pdf",
        "/api/monitoring/reports/0.pdf",
        "/api/monitoring/reports/99999999999999999999.pdf",
        "/api/monitoring/reports/9223372036854775808.pdf",
        "/api/monitoring/reports/1e3.pdf",
        "/api/monitoring/reports/1.pdf?x=1",
    ]

    @Test("bad parameters answer 400 with a JSON error naming the parameter", arguments: badRequests)
    func badParameter(_ uri: String) async throws {
        let router = buildRouter(
            API(
                stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]), stats: IngestStats()
            ))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let body = try #require(
                    try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let error = try #require(body["error"] as? [String: Any])
                #expect(error["code"] as? String == "bad_parameter")
                #expect((error["message"] as? String)?.isEmpty == false)
            }
        }
    }

    @Test("unknown paths and methods answer JSON errors")
    func notFound() async throws {
        let router = buildRouter(
            API(
                stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]), stats: IngestStats()
            ))
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/monitoring/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try #require(
                    try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                #expect((body["error"] as? [String: Any])?["code"] as? String == "not_found")
            }
            try await client.execute(uri: "/api/monitoring/system/cpu", method: .post) { response in
                #expect(response.status.code >= 400 && response.status.code < 500)
            }
        }
    }

    @Test("the database being away answers 503, not 500, and the URL's password stays hidden")
    func databaseDown() async throws {
        let router = buildRouter(
            API(
                stores: QueryStorePool([QueryStore(databaseURL: "postgresql://mon:s3cret-pw@127.0.0.1:1/none")]),
                stats: IngestStats())
        )
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/monitoring/system/cpu", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(!String(buffer: response.body).contains("s3cret-pw"))
            }
        }
    }
}

/// Bearer tokens and roles, before any database access.
@Suite struct APIAuthTests {
    static let viewer = "viewer-token"
    static let admin = "admin-token"

    func app() -> some ApplicationProtocol {
        let authenticator = Authenticator(tokens: [
            .init(name: "ui", role: .viewer, hash: SHA256.hash(Array(Self.viewer.utf8))),
            .init(name: "ops", role: .admin, hash: SHA256.hash(Array(Self.admin.utf8))),
        ])
        let api = API(
            stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]), stats: IngestStats(),
            authenticator: authenticator)
        return Application(router: buildRouter(api))
    }

    @Test("401 without or with a wrong token, 403 for a viewer on logs and exports, /health open")
    func statuses() async throws {
        let cases: [(String, String?, HTTPResponse.Status)] = [
            ("/api/monitoring/system/cpu", nil, .unauthorized),
            ("/api/monitoring/system/cpu", "nope", .unauthorized),
            ("/api/monitoring/logs", Self.viewer, .forbidden),
            ("/api/monitoring/logs/stream", Self.viewer, .forbidden),
            ("/api/monitoring/export?format=csv", Self.viewer, .forbidden),
            // Authenticated: past the middleware (the test database is away, hence 503).
            ("/api/monitoring/system/cpu", Self.viewer, .serviceUnavailable),
            ("/api/monitoring/logs", Self.admin, .serviceUnavailable),
            ("/health", nil, .ok),
        ]
        try await app().test(.router) { client in
            for (uri, token, expected) in cases {
                var headers = HTTPFields()
                if let token { headers[.authorization] = "Bearer \(token)" }
                try await client.execute(uri: uri, method: .get, headers: headers) { response in
                    #expect(response.status == expected, "\(uri) with \(token ?? "no token")")
                    if expected == .unauthorized {
                        #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"monquery\"")
                        let body = String(buffer: response.body)
                        #expect(body.contains("\"unauthorized\"") && !body.contains(Self.admin))
                    }
                }
            }
        }
    }

    @Test("tokens replaced by a reload: the new one passes the gate, the removed one gets 401")
    func reloadedTokens() async throws {
        let api = API(
            stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]), stats: IngestStats(),
            authenticator: Authenticator(tokens: [
                .init(name: "ui", role: .viewer, hash: SHA256.hash(Array(Self.viewer.utf8)))
            ]))
        let app = Application(router: buildRouter(api))
        try await app.test(.router) { client in
            func status(_ token: String) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/api/monitoring/alerts", method: .get, headers: [.authorization: "Bearer \(token)"]
                ) { $0.status }
            }
            // Alerting is off in this API: past the gate, 404.
            let status1 = try await status(Self.viewer)
            #expect(status1 == .notFound)
            let status2 = try await status("new-viewer")
            #expect(status2 == .unauthorized)
            api.tokens.replace(
                Authenticator(tokens: [.init(name: "ui2", role: .viewer, hash: SHA256.hash(Array("new-viewer".utf8)))]))
            let status3 = try await status("new-viewer")
            #expect(status3 == .notFound)
            let status4 = try await status(Self.viewer)
            #expect(status4 == .unauthorized)
        }
    }
}
