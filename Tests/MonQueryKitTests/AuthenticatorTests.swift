import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct SHA256Tests {
    @Test(
        "FIPS 180-4 test vectors",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            (String(repeating: "a", count: 1000), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"),
        ])
    func vectors(input: String, digest: String) {
        #expect(SHA256.hex(Array(input.utf8)) == digest)
    }

    @Test func constantTimeEquality() {
        #expect(SHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!SHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!SHA256.constantTimeEqual([1, 2, 3], [1, 2]))
    }
}

@Suite struct AuthenticatorTests {
    static let viewerToken = "viewer-secret"
    static let adminToken = "admin-secret"

    static func authenticator() throws -> Authenticator {
        let config = try QueryConfig.load(
            path: nil,
            environment: [
                "MONQUERY_AUTH_VIEWER_TOKENS": "ui:" + SHA256.hex(Array(viewerToken.utf8)),
                "MONQUERY_AUTH_ADMIN_TOKENS": SHA256.hex(Array(adminToken.utf8)).uppercased().lowercased(),
            ])
        return config.auth
    }

    @Test func rolesFromBearerTokens() throws {
        let auth = try Self.authenticator()
        #expect(auth.isEnabled && auth.tokens.map(\.name) == ["ui", "admin-1"])
        #expect(try auth.role(authorization: "Bearer \(Self.viewerToken)").get() == .viewer)
        #expect(try auth.role(authorization: "bearer  \(Self.adminToken) ").get() == .admin)
        #expect(auth.role(authorization: nil) == .failure(.missing))
        #expect(auth.role(authorization: "Basic dXNlcjpwdw==") == .failure(.missing))
        #expect(auth.role(authorization: "Bearer ") == .failure(.missing))
        #expect(auth.role(authorization: "Bearer \(Self.viewerToken)x") == .failure(.invalid))
    }

    @Test func offWithoutTokensAndOnlyOnLoopback() throws {
        let open = try QueryConfig.load(path: nil, environment: [:])
        #expect(!open.auth.isEnabled)
        #expect(try open.auth.role(authorization: nil).get() == .admin)
        #expect(throws: ConfigError.self) {
            try QueryConfig.load(path: nil, environment: ["MONQUERY_HTTP_LISTEN": "0.0.0.0:8089"])
        }
        let hash = SHA256.hex(Array("t".utf8))
        let exposed = try QueryConfig.load(
            path: nil, environment: ["MONQUERY_HTTP_LISTEN": "0.0.0.0:8089", "MONQUERY_AUTH_VIEWER_TOKENS": hash])
        #expect(exposed.auth.isEnabled)
    }

    @Test(
        "bad token hashes are refused naming the entry",
        arguments: ["abc", "ui:xyz", String(repeating: "g", count: 64)])
    func badHashes(entry: String) {
        let error = #expect(throws: ConfigError.self) {
            try QueryConfig.load(path: nil, environment: ["MONQUERY_AUTH_ADMIN_TOKENS": entry])
        }
        #expect(error?.key == "auth.admin_tokens[0]")
    }
}
