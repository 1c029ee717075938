import Testing

@testable import MonCore

@Suite struct EndpointNormalizerTests {
    @Test(arguments: [
        ("/v1/memories/42", "/v1/memories/{id}"),
        ("/v1/memories/42/tags/7", "/v1/memories/{id}/tags/{id}"),
        ("/v1/memories/0", "/v1/memories/{id}"),
        ("/v1/users/550e8400-e29b-41d4-a716-446655440000/posts", "/v1/users/{id}/posts"),
        ("/v1/users/550E8400-E29B-41D4-A716-446655440000", "/v1/users/{id}"),
        ("/objects/507f1f77bcf86cd799439011", "/objects/{id}"),
        ("/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/blobs/{id}"),
        ("/tokens/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/tokens/{id}"),
        ("/v1/memories/42?full=1&x=2", "/v1/memories/{id}"),
        ("/v1/search?q=/v1/memories/42", "/v1/search"),
        ("/docs#section-2", "/docs"),
        ("https://api.example.com:8443/v1/memories/42?x=1", "/v1/memories/{id}"),
        ("http://example.com", "/"),
        ("http://example.com?x=1", "/"),
        ("/v1/memories/{memory_id}", "/v1/memories/{memory_id}"),
        ("/v1/memories/{id}/related", "/v1/memories/{id}/related"),
        ("/v1/search", "/v1/search"),
        ("/api/v2/health", "/api/v2/health"),
        ("/files/deadbeefcafebabe", "/files/deadbeefcafebabe"),
        ("/static/app-bundle.js", "/static/app-bundle.js"),
        ("/users/me/settings_page", "/users/me/settings_page"),
        ("/words/abcdefghijklmnopqrstuvwxyz", "/words/abcdefghijklmnopqrstuvwxyz"),
        ("", "/"),
        ("/", "/"),
        ("//v1///memories//42/", "/v1/memories/{id}"),
        ("v1/memories/42", "/v1/memories/{id}"),
    ])
    func normalizes(_ raw: String, _ expected: String) {
        #expect(EndpointNormalizer.normalize(raw) == expected, "\(raw)")
    }

    @Test func shortHexWordsAndVersionsAreKeptButShortNumbersAreNot() {
        #expect(EndpointNormalizer.normalize("/cafe/face/v10/2024") == "/cafe/face/v10/{id}")
        // 15 hex characters with digits: too short for a hash.
        #expect(EndpointNormalizer.normalize("/x/abc123abc123abc") == "/x/abc123abc123abc")
        #expect(EndpointNormalizer.normalize("/x/abc123abc123abc1") == "/x/{id}")
    }

    @Test func manySegmentsAreCutAfterTheMaximum() {
        let raw = "/" + (1...20).map { "s\($0)x" }.joined(separator: "/")
        let normalized = EndpointNormalizer.normalize(raw)
        let segments = normalized.split(separator: "/")
        #expect(segments.count == EndpointNormalizer.maxSegments + 1)
        #expect(segments.last == "…")
        #expect(segments.first == "s1x")
        #expect(segments[EndpointNormalizer.maxSegments - 1] == "s12x")
        let exact = "/" + (1...EndpointNormalizer.maxSegments).map { "s\($0)x" }.joined(separator: "/")
        #expect(EndpointNormalizer.normalize(exact) == exact)
    }

    @Test func veryLongPathIsCut() {
        let raw = "/" + String(repeating: "a", count: 500)
        let normalized = EndpointNormalizer.normalize(raw)
        #expect(normalized.hasSuffix("…"))
        #expect(normalized.utf8.count == EndpointNormalizer.maxPathBytes + "…".utf8.count)
        #expect(normalized.hasPrefix("/aaaa"))
        let fits = "/" + String(repeating: "a", count: EndpointNormalizer.maxPathBytes - 1)
        #expect(EndpointNormalizer.normalize(fits) == fits)
    }

    @Test
    func cuttingALongPathKeepsWholeCharacters() {
        let raw = "/" + String(repeating: "é", count: 150)
        let normalized = EndpointNormalizer.normalize(raw)
        #expect(!normalized.unicodeScalars.contains("\u{FFFD}"), "\(normalized)")
        #expect(normalized.utf8.count <= EndpointNormalizer.maxPathBytes + "…".utf8.count)
    }

    @Test func normalizingIsIdempotent() {
        for raw in [
            "/v1/memories/42?x", "https://h/a/550e8400-e29b-41d4-a716-446655440000",
            "/" + String(repeating: "b", count: 300),
            "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o",
        ] {
            let once = EndpointNormalizer.normalize(raw)
            #expect(EndpointNormalizer.normalize(once) == once, "\(raw)")
        }
    }
}
