import Foundation
import Hummingbird
import HummingbirdTesting
import MonCore
import Testing

@testable import MonQuery

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
    ]

    @Test("bad parameters answer 400 with a JSON error naming the parameter", arguments: badRequests)
    func badParameter(_ uri: String) async throws {
        let router = buildRouter(
            API(store: QueryStore(databaseURL: "postgresql://127.0.0.1:1/none"), stats: IngestStats()))
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
            API(store: QueryStore(databaseURL: "postgresql://127.0.0.1:1/none"), stats: IngestStats()))
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
            API(store: QueryStore(databaseURL: "postgresql://mon:s3cret-pw@127.0.0.1:1/none"), stats: IngestStats())
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
