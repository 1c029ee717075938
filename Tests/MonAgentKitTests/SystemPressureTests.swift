import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// PSI for `/system/cpu`: the agent ships avg10, avg60 and avg300 per resource and kind.
@Suite struct SystemPressureTests {
    @Test("avg60 and avg300 ratios beside avg10, from the captured /proc/pressure files")
    func windows() throws {
        let samples = try CPUCollector(procFS: try ProcFixtures.root(), clockTicksPerSecond: 100)
            .collect(timestampMs: 1_000)
        let cpuSome: Labels = ["resource": "cpu", "kind": "some"]
        #expect(samples.value("mon_host_pressure_ratio", cpuSome) == 0.1124)
        #expect(abs((samples.value("mon_host_pressure_avg60_ratio", cpuSome) ?? -1) - 0.2049) < 1e-12)
        #expect(abs((samples.value("mon_host_pressure_avg300_ratio", cpuSome) ?? -1) - 0.0931) < 1e-12)
        for name in ["mon_host_pressure_avg60_ratio", "mon_host_pressure_avg300_ratio"] {
            #expect(samples.named(name).count == 6, "\(name): 3 resources × some/full")
            #expect(samples.named(name).allSatisfy { $0.kind == .gauge && (0...1).contains($0.value) })
        }
    }

    @Test("a kernel without the full line for cpu gives some only")
    func cpuWithoutFull() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.write("pressure/cpu", "some avg10=1.00 avg60=2.50 avg300=3.00 total=42\n")
        let samples = try CPUCollector(procFS: root.procFS).collect(timestampMs: 0)
        #expect(samples.value("mon_host_pressure_avg60_ratio", ["resource": "cpu", "kind": "some"]) == 0.025)
        #expect(samples.value("mon_host_pressure_avg60_ratio", ["resource": "cpu", "kind": "full"]) == nil)
    }

    @Test(
        "malformed /proc/pressure content is a clear error, not a crash",
        arguments: ["", "some avg10=5.52 avg60=20.4", "under pressure\n", "some avg10=x avg60=1 avg300=1 total=1\n"])
    func malformed(text: String) throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.write("pressure/io", text)
        let error = #expect(throws: (any Error).self) { try CPUCollector(procFS: root.procFS).collect(timestampMs: 0) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("pressure"), "the error names the file")
    }
}
