import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

/// monquery refuses retention settings that contradict each other, naming the key (issue 18).
@Suite struct RetentionOrderTests {
    static func load(_ environment: [String: String]) throws -> QueryConfig {
        try QueryConfig.load(path: nil, environment: environment)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var environment: [String: String]
        var key: String
        var mentions: String
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(
            name: "raw longer than the minute rollups",
            environment: ["MONQUERY_STORAGE_RAW_RETENTION_DAYS": "31", "MONQUERY_STORAGE_LEDGER_RETENTION_DAYS": "31"],
            key: "storage.raw_retention_days", mentions: "storage.rollup_1m_retention_days (30)"),
        Case(
            name: "minute rollups longer than the hour rollups",
            environment: ["MONQUERY_STORAGE_ROLLUP_1M_RETENTION_DAYS": "401"],
            key: "storage.rollup_1m_retention_days", mentions: "storage.rollup_1h_retention_days (400)"),
        Case(
            name: "hour rollups shorter than the raw samples",
            environment: ["MONQUERY_STORAGE_ROLLUP_1H_RETENTION_DAYS": "5"],
            key: "storage.rollup_1m_retention_days", mentions: "storage.rollup_1h_retention_days (5)"),
        Case(
            name: "hour rollups shorter than the minute rollups",
            environment: ["MONQUERY_STORAGE_ROLLUP_1H_RETENTION_DAYS": "20"],
            key: "storage.rollup_1m_retention_days", mentions: "storage.rollup_1h_retention_days (20)"),
        Case(
            name: "ledger shorter than the raw samples",
            environment: ["MONQUERY_STORAGE_LEDGER_RETENTION_DAYS": "6"],
            key: "storage.ledger_retention_days", mentions: "storage.raw_retention_days (7)"),
        Case(
            name: "raw raised alone past the ledger",
            environment: ["MONQUERY_STORAGE_RAW_RETENTION_DAYS": "30"],
            key: "storage.ledger_retention_days", mentions: "storage.raw_retention_days (30)"),
    ])
    func contradictoryRetentionsAreRefused(_ input: Case) {
        let error = #expect(throws: ConfigError.self, "\(input.name)") { try Self.load(input.environment) }
        #expect(error?.key == input.key, "\(input.name): \(String(describing: error))")
        #expect(error?.message.contains(input.mentions) == true, "\(input.name): \(String(describing: error))")
    }

    @Test func equalRetentionsAndTheDefaultsAreAccepted() throws {
        let defaults = try Self.load([:])
        #expect(defaults.retention == .defaults)
        let equal = try Self.load([
            "MONQUERY_STORAGE_RAW_RETENTION_DAYS": "30", "MONQUERY_STORAGE_ROLLUP_1M_RETENTION_DAYS": "30",
            "MONQUERY_STORAGE_ROLLUP_1H_RETENTION_DAYS": "30", "MONQUERY_STORAGE_LEDGER_RETENTION_DAYS": "30",
        ])
        #expect(equal.retention.days["metrics"] == 30 && equal.retention.days["metrics_1h"] == 30)
        let longLedger = try Self.load(["MONQUERY_STORAGE_LEDGER_RETENTION_DAYS": "90"])
        #expect(longLedger.retention.ledgerDays == 90)
    }
}

/// monquery's numbers are finite (issue 18).
@Suite struct QueryConfigNumbersTests {
    @Test(arguments: ["inf", "nan", "1e999", "-inf"])
    func doublesInTheConfigurationMustBeFinite(_ value: String) {
        let daemon = #expect(throws: ConfigError.self) {
            try QueryConfig.load(path: nil, environment: ["MONQUERY_STORAGE_ROLLUP_INTERVAL_SECONDS": value])
        }
        #expect(daemon?.key == "storage.rollup_interval_seconds")
    }
}
