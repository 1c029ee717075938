import Foundation
import Testing

@testable import MonAgentKit
@testable import MonCore

/// Numbers in monagent's configuration are finite: an infinite value would be shipped (or slept on)
/// as such (issue 18).
@Suite struct ConfigNumbersTests {
    @Test(arguments: ["inf", "Infinity", "1e999", "nan", "-1", "0"])
    func aCacheTypeTTLMustBeAFinitePositiveNumber(_ ttl: String) throws {
        let path = NSTemporaryDirectory() + "monagent-\(UInt64.random(in: 0...UInt64.max)).yaml"
        try """
        redis:
          url: redis://127.0.0.1:6379/0
          cache_types:
            - name: search
              pattern: "search:*"
              ttl_seconds: \(ttl)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: path, environment: [:])
        }
        #expect(error?.key == "redis.cache_types[0].ttl_seconds", "\(String(describing: error))")
    }

    @Test(arguments: ["inf", "nan", "1e999", "-inf"])
    func doublesInTheConfigurationMustBeFinite(_ value: String) {
        let error = #expect(throws: ConfigError.self) {
            try AgentConfig.load(path: nil, environment: ["MONAGENT_INTERVAL": value])
        }
        #expect(error?.key == "interval")
    }
}
