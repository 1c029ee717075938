import Foundation
import MonTLS
import NIOCore
import Testing

@testable import MonAgentKit
@testable import MonCore
@testable import MonQueryKit

/// Remote agents: the token in HELLO, its check, and the configuration that enables TCP.
@Suite struct RemoteIngestTests {
    static let token = "s3cret-ingest-token"
    static let tokenHash = SHA256.hex(Array(token.utf8))

    static func tokens() throws -> IngestTokens {
        try IngestTokens(
            source: ConfigSource(
                yaml: "ingest:\n  tokens: [\"web-1:\(tokenHash)\"]\n", envPrefix: "MONQUERY", environment: [:]))
    }

    @Test func helloCarriesTheToken() throws {
        let hello = WireMessage.hello(.init(agentID: "a", host: "h", bootID: "b", token: Self.token))
        #expect(try WireMessage(frame: hello.frame()) == hello)
        // Protocol 2: the token field is always there, empty without a token.
        let plain = WireMessage.hello(.init(agentID: "a", host: "h", bootID: "b"))
        #expect(try WireMessage(frame: plain.frame()) == plain)
        #expect(plain.frame().payload.readableBytes + Self.token.utf8.count == hello.frame().payload.readableBytes)
        // Protocol 1 (agents of the previous release): a trailing field, absent without a token.
        let old = WireMessage.hello(.init(protocolVersion: 1, agentID: "a", host: "h", bootID: "b", token: Self.token))
        let oldPlain = WireMessage.hello(.init(protocolVersion: 1, agentID: "a", host: "h", bootID: "b"))
        #expect(try WireMessage(frame: old.frame()) == old)
        #expect(
            oldPlain.frame().payload.readableBytes + 4 + Self.token.utf8.count == old.frame().payload.readableBytes)
    }

    @Test func tokenIsFoundByItsHashOnly() throws {
        let tokens = try Self.tokens()
        #expect(tokens.name(of: Self.token) == "web-1")
        #expect(tokens.name(of: Self.token + "x") == nil)
        #expect(tokens.name(of: "") == nil)
        #expect(tokens.name(of: Self.tokenHash) == nil, "the hash itself is not a token")
    }

    @Test("A remote agent without the right token is refused", arguments: [nil, "", "wrong"])
    func remoteHelloWithoutTheRightTokenIsForbidden(token: String?) throws {
        var session = IngestSession(tokens: try Self.tokens())
        let action = session.receive(.hello(.init(agentID: "a", host: "web-1", bootID: "b", token: token)))
        guard case .refuse(let error, let reason) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(error.code == WireError.Code.forbidden.rawValue)
        #expect(reason == .token)
        #expect(!error.message.contains("wrong"), "the error never echoes what was sent")
        #expect(session.state == .closed)
    }

    @Test func remoteHelloWithTheTokenIsWelcomed() throws {
        var session = IngestSession(tokens: try Self.tokens())
        let action = session.receive(.hello(.init(agentID: "a", host: "web-1", bootID: "b", token: Self.token)))
        #expect(action == .welcome(AgentIdentity(agentID: "a", host: "web-1", bootID: "b")))
    }

    @Test func localSessionIgnoresTokens() {
        var session = IngestSession()
        let action = session.receive(.hello(.init(agentID: "a", host: "h", bootID: "b", token: "anything")))
        #expect(action == .welcome(AgentIdentity(agentID: "a", host: "h", bootID: "b")))
    }

    static func query(_ yaml: String) throws -> QueryConfig {
        try QueryConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONQUERY", environment: [:]))
    }

    static func configError(_ body: () throws -> Any) -> ConfigError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    @Test func tcpListenerNeedsTLSAndTokens() throws {
        #expect(try Self.query("").ingestTCP == nil)
        let noTLS = Self.configError {
            try Self.query("ingest:\n  tcp_listen: 127.0.0.1:8090\n  tokens: [\"a:\(Self.tokenHash)\"]\n")
        }
        #expect(noTLS?.key == "ingest.tcp_listen")
        #expect(noTLS?.message.contains("ingest.tls.certificate_file") == true)
        let halfTLS = Self.configError {
            try Self.query("ingest:\n  tcp_listen: 127.0.0.1:8090\n  tls:\n    key_file: /nonexistent.key\n")
        }
        #expect(halfTLS?.key == "ingest.tls.certificate_file")
    }

    @Test func tcpHandshakeTimeoutAndConnectionLimit() throws {
        let base =
            "ingest:\n  tcp_listen: 127.0.0.1:8090\n  tokens: [\"a:\(Self.tokenHash)\"]\n"
            + "  tls: {certificate_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}\n"
        let defaults = try Self.query(base).ingestTCP
        #expect(defaults?.handshakeTimeoutSeconds == 10)
        #expect(defaults?.maxConnections == 256)
        let set = try Self.query(base + "  tcp_handshake_timeout_seconds: 3\n  tcp_max_connections: 9\n").ingestTCP
        #expect(set?.handshakeTimeoutSeconds == 3)
        #expect(set?.maxConnections == 9)
        let zero = Self.configError { try Self.query(base + "  tcp_handshake_timeout_seconds: 0\n") }
        #expect(zero?.key == "ingest.tcp_handshake_timeout_seconds")
        let many = Self.configError { try Self.query(base + "  tcp_max_connections: lots\n") }
        #expect(many?.key == "ingest.tcp_max_connections")
    }

    @Test func unreadableCertificateIsNamedWithItsKeyAndFile() {
        let error = Self.configError {
            try Self.query(
                "http:\n  tls:\n    certificate_file: /nonexistent/c.pem\n    key_file: /nonexistent/k.pem\n"
            )
            .httpTLS?.serverContext() as Any
        }
        #expect(error?.key == "http.tls.certificate_file")
        #expect(error?.message.contains("/nonexistent/c.pem") == true)
    }

    @Test func badTokenHashIsNamedByIndexAndNotEchoed() {
        let error = Self.configError { try Self.query("ingest:\n  tokens: [\"raw-token-pasted-here\"]\n") }
        #expect(error?.key == "ingest.tokens[0]")
        #expect(error?.message.contains("raw-token-pasted-here") == false)
    }

    @Test func agentAddressNeedsATokenFile() throws {
        func agent(_ yaml: String) throws -> AgentConfig {
            try AgentConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: [:]))
        }
        #expect(try agent("").ingestRemote == nil)
        let error = Self.configError { try agent("ingest:\n  address: monquery.internal:8090\n") }
        #expect(error?.key == "ingest.token_file")
        let badAddress = Self.configError { try agent("ingest:\n  address: monquery.internal\n") }
        #expect(badAddress?.key == "ingest.address")
    }
}
