import Foundation
import MonCore
import MonQueryKit
import Testing

/// `alerts.for_scale` shortens every rule's `for`, never its threshold.
@Suite struct AlertForScaleTests {
    static func settings(_ yaml: String) throws -> AlertSettings {
        let dir = "/nonexistent-rules-\(UUID().uuidString)"
        let source = try ConfigSource(
            yaml: "alerts:\n  rules_dir: \(dir)\n" + yaml, envPrefix: "MONQUERY", environment: [:])
        return try AlertSettings(source: source)
    }

    @Test("default 1 keeps the shipped holds")
    func defaultScale() throws {
        let settings = try Self.settings("")
        #expect(settings.forScale == 1)
        let byName = Dictionary(uniqueKeysWithValues: settings.rules.map { ($0.name, $0) })
        #expect(byName["RedisHitRateLow"]?.forSeconds == 300)
        #expect(byName["PostgresConnectionsHigh"]?.forSeconds == 120)
    }

    @Test("0.01 divides every hold by 100, at least 1 s, 0 stays 0, thresholds untouched")
    func scaled() throws {
        let plain = try Self.settings("").rules
        let scaled = try Self.settings("  for_scale: 0.01\n").rules
        #expect(plain.count == scaled.count)
        for (a, b) in zip(plain, scaled) {
            #expect(a.name == b.name)
            #expect(a.threshold == b.threshold && a.resolveThreshold == b.resolveThreshold, "\(a.name)")
            #expect(a.windowSeconds == b.windowSeconds, "\(a.name): windows are not scaled")
            if a.forSeconds == 0 {
                #expect(b.forSeconds == 0, "\(a.name)")
            } else {
                #expect(b.forSeconds == max(1, Int64((Double(a.forSeconds) * 0.01).rounded())), "\(a.name)")
            }
        }
        let byName = Dictionary(uniqueKeysWithValues: scaled.map { ($0.name, $0) })
        #expect(byName["RedisHitRateLow"]?.forSeconds == 3)
        #expect(byName["PostgresLockWaits"]?.forSeconds == 1)
    }

    @Test("out of range or not a number is refused, naming the key", arguments: ["0", "2", "-1", "fast"])
    func refused(value: String) throws {
        let error = #expect(throws: ConfigError.self) { try Self.settings("  for_scale: \(value)\n") }
        #expect(error?.key == "alerts.for_scale")
    }
}
