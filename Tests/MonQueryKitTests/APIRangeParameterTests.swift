import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MonCore
@testable import MonQuery
@testable import MonQueryKit

/// The one range vocabulary on every route that takes a period: `from`/`to` accepted, bad
/// ones refused with a 400 naming the parameter before any database access; `since` and
/// `window` still work as names of `period`.
@Suite struct APIRangeParameterTests {
    /// Every route documenting `from` (the vocabulary adds it wherever a period is taken), path
    /// parameters filled in (`RouteCatalogue.example`).
    static let rangeRoutes: [String] = API.routes.filter { route in route.parameters.contains { $0.name == "from" } }
        .map { RouteCatalogue.example($0.path) }

    /// Parameters a route needs besides the range.
    static func base(_ path: String) -> String {
        switch path {
        case "/api/monitoring/metrics": "type=api&"
        case "/api/monitoring/compare": "metric=mon_host_cpu_usage_ratio&"
        default: ""
        }
    }

    static let badRanges: [(query: String, parameter: String)] = [
        ("from=banana", "from"),
        ("from=1e308", "from"),
        ("from=-1", "from"),
        ("from=nan", "from"),
        ("from=inf", "from"),
        ("from=2026-13-45T99:00:00Z", "from"),
        ("from=2026-02-30T00:00:00Z", "from"),
        ("to=1796350200", "to"),
        ("from=1796350200&to=1796350200", "from"),
        ("from=1796352000&to=1796350200", "from"),
        ("period=1h&from=1796350200", "from"),
        ("from=1796350200&to=4102444799", "to"),
        ("from=0&to=1796350200", "from"),
        ("from=1796350200&to=", "to"),
    ]

    static func app() -> some ApplicationProtocol {
        Application(
            router: buildRouter(
                API(
                    stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]),
                    stats: IngestStats())))
    }

    static func error(_ response: TestResponse) throws -> String {
        let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        let error = try #require(body["error"] as? [String: Any])
        #expect(error["code"] as? String == "bad_parameter")
        return try #require(error["message"] as? String)
    }

    @Test("the routes with a period are the ones expected, each documenting from (and to unless a stream)")
    func routesCovered() {
        let paths = Set(Self.rangeRoutes)
        for path in [
            "/api/monitoring/system/cpu", "/api/monitoring/system/memory", "/api/monitoring/system/disk",
            "/api/monitoring/system/network", "/api/monitoring/postgres/status",
            "/api/monitoring/postgres/slow_queries",
            "/api/monitoring/redis/keys", "/api/monitoring/redis/slowlog", "/api/monitoring/metrics",
            "/api/monitoring/logs", "/api/monitoring/logs/stream", "/api/monitoring/alerts", "/api/monitoring/compare",
            "/api/monitoring/export", "/ui/monitoring/advanced", "/ui/monitoring/logs", "/ui/monitoring/export",
        ] {
            #expect(paths.contains(path), "\(path) documents from")
        }
        for route in API.routes where paths.contains(route.path) {
            let names = route.parameters.map(\.name)
            #expect(names.contains("period"), "\(route.path): period is the name every route takes")
            #expect(names.contains("to") == !route.produces.contains("text/event-stream"), "\(route.path)")
            #expect(Set(names).count == names.count, "\(route.path): no parameter twice")
        }
    }

    @Test("bad from/to answer 400 naming the parameter on every route with a period")
    func badRange() async throws {
        try await Self.app().test(.router) { client in
            for path in Self.rangeRoutes {
                for (query, named) in Self.badRanges {
                    // A live stream refuses any `to`; a dashboard page reads an empty `to` as now.
                    let parameter = path.hasSuffix("/stream") && query.contains("to=") ? "to" : named
                    if path.hasPrefix("/ui/monitoring/") && !path.hasSuffix("/export") && query.hasSuffix("to=") {
                        continue
                    }
                    let uri = "\(path)?\(Self.base(path))\(query)"
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .badRequest, "\(uri)")
                        let message = try Self.error(response)
                        #expect(message.hasPrefix("\(parameter):"), "\(uri): \(message)")
                    }
                }
            }
        }
    }

    @Test("good from/to pass the checks (then the database, away here, answers) on every route with a period")
    func goodRange() async throws {
        let now = WallClock.nowMs()
        let from = Timestamp.iso8601(ms: now - 26 * 3_600_000)
        let to = Timestamp.iso8601(ms: now - 26 * 3_600_000 + 1_800_000)
        // The same instant at +14:00 and -12:00, and epoch seconds with a fraction.
        let plus = Timestamp.iso8601(ms: now - 26 * 3_600_000 + 14 * 3_600_000).dropLast() + "%2B14:00"
        let minus = Timestamp.iso8601(ms: now - 26 * 3_600_000 - 12 * 3_600_000).dropLast() + "-12:00"
        let epoch = "\((now - 7_200_000) / 1000).25"
        try await Self.app().test(.router) { client in
            for path in Self.rangeRoutes where !path.hasSuffix("/stream") {
                for query in [
                    "from=\(from)&to=\(to)", "from=\(plus)&to=\(to)", "from=\(minus)&to=\(to)", "from=\(epoch)",
                ] {
                    let uri = "\(path)?\(Self.base(path))\(query)"
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status != .badRequest, "\(uri): \(String(buffer: response.body).prefix(300))")
                    }
                }
            }
        }
    }

    @Test("since and window are names of period: each alone works, two names at once are refused")
    func aliases() async throws {
        try await Self.app().test(.router) { client in
            let cases: [(String, String?)] = [
                ("/api/monitoring/logs?since=forever", "since"),
                ("/api/monitoring/logs?since=1h&period=1h", "since"),
                ("/api/monitoring/logs?period=1h&from=1796350200", "from"),
                ("/api/monitoring/logs/stream?to=1796350200", "to"),
                ("/api/monitoring/alerts?since=2h&period=2h", "since"),
                ("/api/monitoring/compare?metric=m&window=8d", "window"),
                ("/api/monitoring/compare?metric=m&period=8d", "period"),
                ("/api/monitoring/compare?metric=m&window=1h&period=1h", "window"),
                ("/api/monitoring/compare?metric=m&from=1796350200&to=1796350230", "from"),
                ("/ui/monitoring/advanced?period=31d", "period"),
                ("/ui/monitoring/advanced?from=2026-12-04T02:10&to=2026-12-04T02:10:30", "from"),
                ("/api/monitoring/logs?period=1h", nil),
                ("/api/monitoring/logs?since=1h", nil),
                ("/api/monitoring/compare?metric=m&period=1h", nil),
            ]
            for (uri, parameter) in cases {
                try await client.execute(uri: uri, method: .get) { response in
                    if let parameter {
                        #expect(response.status == .badRequest, "\(uri)")
                        let message = try Self.error(response)
                        #expect(message.hasPrefix("\(parameter):"), "\(uri): \(message)")
                    } else {
                        #expect(response.status != .badRequest, "\(uri)")
                    }
                }
            }
        }
    }
}
