import MonAgentKit
import MonCore
import MonQueryKit
import Testing

@testable import MonQuery

/// The OpenAPI text names the signals the daemon really computes (EndpointStats+Signals),
/// not invented ones such as `api_p95_seconds`.
@Suite struct OpenAPISignalTests {
    static func metricDescription() throws -> String {
        let document = OpenAPI.document(API.routes, metricsNeedToken: false)
        let parameters = document["paths"]?["/api/monitoring/compare"]?["get"]?["parameters"]
        guard case .array(let list)? = parameters else {
            Issue.record("no parameters for /compare")
            return ""
        }
        let metric = try #require(list.first { $0["name"]?.stringValue == "metric" })
        return try #require(metric["description"]?.stringValue)
    }

    @Test("/compare's metric parameter lists every derived signal by its real name")
    func compareNamesRealSignals() throws {
        let text = try Self.metricDescription()
        #expect(!EndpointStats.Totals.signals.isEmpty)
        for name in EndpointStats.Totals.signals.keys {
            #expect(text.contains(name), "\(name) missing from: \(text)")
        }
        #expect(text.contains("api_latency_p95_ms"))
        #expect(!text.contains("api_p95_seconds"), "the old invented name is gone")
    }

    @Test("every signal named in the OpenAPI text is one the daemon computes")
    func noInventedSignal() throws {
        let text = try Self.metricDescription()
        let named = text.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
            .filter { $0.hasPrefix("api_") }
        #expect(!named.isEmpty)
        for name in named {
            #expect(EndpointStats.Totals.signals[name] != nil, "\(name) is not computed")
        }
    }
}
