import Testing

@testable import MonCore
@testable import MonQueryKit

/// Where an endpoint's request figures came from, as the API names it (issue 17).
@Suite struct EndpointSourceTests {
    @Test(
        "an endpoint's source in the API",
        arguments: [
            ([], nil), ([""], nil), (["statsd"], "statsd"), (["logs", ""], "logs"), (["statsd", "logs"], "mixed"),
        ] as [([String], String?)])
    func endpointSource(sources: [String], expected: String?) {
        var stats = EndpointStats(method: "GET", endpoint: "/v1/search")
        stats.sources = Set(sources)
        #expect(stats.source == expected)
    }
}
