import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The parts of `Lease` that need no database: instance names and what a claim allows.
@Suite struct LeaseNameTests {
    @Test func instanceNameDefaultsToHostAndPid() throws {
        let config = try QueryConfig.load(path: nil, environment: [:])
        #expect(config.instanceName.hasSuffix(":\(getpid())"))
        #expect(config.instanceName.utf8.count <= 48)
        let empty = try QueryConfig.load(path: nil, environment: ["MONQUERY_INSTANCE_NAME": ""])
        #expect(empty.instanceName == config.instanceName)
        let named = try QueryConfig.load(path: nil, environment: ["MONQUERY_INSTANCE_NAME": "monquery-a"])
        #expect(named.instanceName == "monquery-a")
    }

    @Test(
        "a bad instance name is refused, naming the key",
        arguments: [String(repeating: "x", count: 49), "a\u{7}b", "é"])
    func badInstanceName(_ name: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try QueryConfig.load(path: nil, environment: ["MONQUERY_INSTANCE_NAME": name])
        }
        #expect(error?.key == "instance_name")
    }

    @Test func holderNamedFromItsApplicationName() {
        #expect(Lease.instanceName("monquery-lease:web-1:4242") == "web-1:4242")
        #expect(Lease.instanceName("psql") == "psql")
    }

    @Test func onlyAHeldLeaseLetsAJobRun() {
        #expect(Lease.Claim.acquired.mayRun)
        #expect(Lease.Claim.kept.mayRun)
        #expect(!Lease.Claim.elsewhere(holder: "b").mayRun)
        #expect(!Lease.Claim.elsewhere(holder: nil).mayRun)
        #expect(!Lease.Claim.lost(reason: "gone").mayRun)
    }

    @Test func jobsHaveDistinctKeysInMonquerysKeySpace() {
        #expect(Set(Lease.Job.allCases.map(\.rawValue)).count == Lease.Job.allCases.count)
        #expect(Lease.keySpace > 0)
    }
}
