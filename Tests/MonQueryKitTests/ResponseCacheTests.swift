import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import MonCore
@testable import MonQuery
@testable import MonQueryKit

/// `ResponseCache`: one computation per target and credentials while an answer is kept;
/// another caller's credentials, another target, errors and uncached routes are never served
/// from it.
@Suite struct ResponseCacheTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    }

    static func app(_ cache: ResponseCache, _ counter: Counter) -> some ApplicationProtocol {
        let router = Router()
        for path in ["/api/monitoring/system/cpu", "/api/monitoring/logs"] {
            router.get(RouterPath(stringLiteral: path)) { request, _ -> Response in
                try await cache.response(request, route: path) {
                    let call = counter.next()
                    if request.uri.queryParameters["fail"] != nil {
                        return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "bad \(call)")))
                    }
                    return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "answer \(call)")))
                }
            }
        }
        return Application(router: router)
    }

    static func body(_ client: some TestClientProtocol, _ uri: String, headers: HTTPFields = [:]) async throws
        -> String
    {
        try await client.execute(uri: uri, method: .get, headers: headers) { String(buffer: $0.body) }
    }

    @Test("the same target and credentials share one answer; anything else is computed")
    func sharing() async throws {
        let counter = Counter()
        try await Self.app(ResponseCache(ttlMs: 60_000), counter).test(.router) { client in
            let cpu = "/api/monitoring/system/cpu?period=7d"
            let got1 = try await Self.body(client, cpu)
            #expect(got1 == "answer 1")
            let got2 = try await Self.body(client, cpu)
            #expect(got2 == "answer 1", "kept")
            let got3 = try await Self.body(client, cpu + "&host=a")
            #expect(got3 == "answer 2", "another target")
            let admin: HTTPFields = [.authorization: "Bearer admin-token"]
            let got4 = try await Self.body(client, cpu, headers: admin)
            #expect(got4 == "answer 3", "other credentials")
            let got5 = try await Self.body(client, cpu, headers: admin)
            #expect(got5 == "answer 3")
            let cookie: HTTPFields = [.cookie: "mon_session=abc"]
            let got6 = try await Self.body(client, cpu, headers: cookie)
            #expect(got6 == "answer 4", "a session cookie")
            // A route that is not in `paths` (the logs follow every new line) is never kept.
            let got7 = try await Self.body(client, "/api/monitoring/logs")
            #expect(got7 == "answer 5")
            let got8 = try await Self.body(client, "/api/monitoring/logs")
            #expect(got8 == "answer 6")
            // An error answer is handed to its caller and not kept.
            let failing = cpu + "&fail=1"
            let got9 = try await Self.body(client, failing)
            #expect(got9 == "bad 7")
            let got10 = try await Self.body(client, failing)
            #expect(got10 == "bad 8")
        }
    }

    @Test("a kept answer expires")
    func expiry() async throws {
        let counter = Counter()
        try await Self.app(ResponseCache(ttlMs: 50), counter).test(.router) { client in
            let got11 = try await Self.body(client, "/api/monitoring/system/cpu")
            #expect(got11 == "answer 1")
            try await Task.sleep(for: .milliseconds(120))
            let got12 = try await Self.body(client, "/api/monitoring/system/cpu")
            #expect(got12 == "answer 2")
        }
    }

    @Test("concurrent identical requests run the handler once")
    func singleFlight() async throws {
        let counter = Counter()
        let cache = ResponseCache(ttlMs: 60_000)
        let router = Router()
        router.get("/api/monitoring/system/cpu") { request, _ -> Response in
            try await cache.response(request, route: "/api/monitoring/system/cpu") {
                let call = counter.next()
                try await Task.sleep(for: .milliseconds(200))
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "answer \(call)")))
            }
        }
        try await Application(router: router).test(.router) { client in
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await Self.body(client, "/api/monitoring/system/cpu") } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(bodies) == ["answer 1"])
            #expect(counter.value.load(ordering: .relaxed) == 1)
        }
    }
}
