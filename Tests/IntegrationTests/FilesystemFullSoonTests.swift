import Foundation
import Testing

@testable import MonAgentKit
@testable import MonCore
@testable import MonQueryKit

/// The shipped FilesystemFullSoon rule over stored samples: a mount point losing 1 GiB a
/// minute for the last hour with 120 GiB left reads 2 h and names its mount point; a host
/// whose file systems do not fill reads the 8760 h cap (nothing pending).
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct FilesystemFullSoonTests {
    @Test("a mount point full in 2 h at the last hour's rate fires the default rule with its mount point")
    func fillingMountPointIsNamed() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let writer = try await daemon.migratedWriter(nowMs: now)
        let gib = 1_073_741_824.0
        func avail(_ mountpoint: String, _ bytes: (Int) -> Double) -> [Sample] {
            (0..<60).map { minute in
                Sample(
                    "mon_host_filesystem_avail_bytes", ["mountpoint": mountpoint, "device": "d", "fstype": "ext4"],
                    value: bytes(minute), timestampMs: now - Int64(59 - minute) * 60_000 - 1_000)
            }
        }
        let filling = avail("/data", { (179 - Double($0)) * gib }) + avail("/", { _ in 50 * gib })
        let flat = avail("/", { _ in 50 * gib })
        for (index, (host, samples)) in [("fs-host", filling), ("flat-host", flat)].enumerated() {
            let agent = AgentIdentity(agentID: host, host: host, bootID: "b")
            let stored = try await writer.store(
                Batch(seq: UInt64(index + 1), createdMs: now, samples: samples), from: agent, nowMs: now)
            #expect(stored == .stored(samples: samples.count, rejected: 0))
        }

        let rules = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>")
        let rule = try #require(rules.first { $0.name == "FilesystemFullSoon" })
        let evaluator = AlertEvaluator(
            rules: [rule], store: QueryStore(databaseURL: daemon.databaseURL),
            alerts: AlertStore(databaseURL: daemon.databaseURL), cache: LastValueCache(), stats: IngestStats(),
            webhook: nil, logger: .init(label: "test"))
        let reading = try await evaluator.values(rule, nowMs: now)
        print("filesystem_hours_to_full: \(reading)")
        let hours = try #require(reading.values["fs-host"])
        #expect(abs(hours - 2) < 0.05, "120 GiB left, losing 60 GiB/h")
        #expect(reading.labels["fs-host"] == "mountpoint=/data")
        #expect(reading.values["flat-host"] == FilesystemForecast.notFillingHours)

        await evaluator.evaluate(nowMs: now)
        let active = await evaluator.active
        #expect(await evaluator.failing.isEmpty)
        #expect(active.map(\.host) == ["fs-host"])
        #expect(active.first?.state == .pending, "held for 'for: 5m' first")
        #expect(active.first?.summary.hasPrefix("File system mountpoint=/data on fs-host full in 2") == true)
    }
}
