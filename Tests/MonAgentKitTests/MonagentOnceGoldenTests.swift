import Foundation
import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The agent's host output, as `monagent once` produces it (`HostCollectors.make` + `CollectionCycle`,
/// two cycles), over the fixture procfs, compared with a committed golden file: any change to the
/// /proc collectors or their parsers that changes a sample (name, labels, kind, value) fails here.
///
/// Cycle 1 reads a copy of `Fixtures/proc/root`; then `Fixtures/proc/golden/cycle2/` is written over
/// it (counters advance, pid 505 appears) and the pids in `cycle2-removed.txt` are deleted, and cycle
/// 2 runs 5 s later, so rates, usage ratios and process churn are in the output. statvfs, USER_HZ
/// and the page size are fixed, so the file is the same on every machine. The durations the cycle
/// measures are written as `<duration>`.
///
/// Regenerate deliberately: `MON_UPDATE_GOLDEN=1 swift test --filter MonagentOnceGoldenTests`.
@Suite struct MonagentOnceGoldenTests {
    static let goldenPath = "proc/golden/monagent-once-host.txt"
    static let firstTimestampMs: Int64 = 1_796_000_000_000
    static let intervalMs: Int64 = 5_000

    /// The agent's default groups, plus one matched on a title-rewritten command line (`sshd: a) (b`).
    static let groups = ProcessGroup.defaults + [ProcessGroup(name: "sshd", cmdline: ["sshd:"])]

    /// A fixed statvfs: one size per mountpoint, derived from its name.
    static func usage(_ mountpoint: String) throws -> FilesystemUsage {
        let size = UInt64(mountpoint.utf8.count + 1) * 10 * (1 << 30)
        return FilesystemUsage(sizeBytes: size, freeBytes: size / 4, availableBytes: size / 5)
    }

    @Test("monagent once over the fixture /proc matches the golden file exactly")
    func hostOutputMatchesGolden() throws {
        let actual = try Self.render()
        let golden = Fixtures.directory.appendingPathComponent(Self.goldenPath)
        if ProcessInfo.processInfo.environment["MON_UPDATE_GOLDEN"] == "1" {
            try actual.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try Fixtures.text(Self.goldenPath)
        let diff = GoldenDiff.lines(expected: expected, actual: actual)
        #expect(
            diff.isEmpty,
            "the host output differs from \(Self.goldenPath) (- golden, + now; MON_UPDATE_GOLDEN=1 regenerates):\n\(diff)"
        )
    }

    @Test("every host collector produces samples over the fixture, and none fails")
    func everyCollectorHasOutput() throws {
        let text = try Self.render()
        for prefix in [
            "mon_host_cpu_", "mon_host_load1", "mon_host_pressure_", "mon_host_memory_", "mon_host_disk_",
            "mon_host_filesystem_", "mon_host_network_", "mon_host_sockets", "mon_process_",
        ] {
            #expect(text.contains("\n" + prefix), "no \(prefix) sample")
        }
        #expect(!text.contains("failure"))
        #expect(text.contains("mon_host_cpu_usage_ratio{cpu=\"all\"}"))
        #expect(text.contains("mon_host_disk_utilization_ratio{device=\"vda\"}"))
        #expect(text.contains("mon_process_cpu_usage_ratio{group=\"uvicorn\"}"))
    }

    @Test("the golden diff names the lines that differ")
    func diffIsReadable() {
        let diff = GoldenDiff.lines(expected: "# one\na\nb\nc\n", actual: "# one\na\nB\nc\nd\n")
        #expect(diff == "  # one\n- b\n+ B\n+ d\n")
        #expect(GoldenDiff.lines(expected: "a\n", actual: "a\n").isEmpty)
    }

    /// Both cycles as text: per cycle, its samples as `name{labels} kind value`, sorted, then its failures.
    static func render() throws -> String {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let collectors = HostCollectors.make(
            procRoot: root.url.path, processGroups: groups, filesystemUsage: usage, clockTicksPerSecond: 100,
            pageSize: 4096)
        #expect(collectors.map(\.name) == ["cpu", "memory", "disk", "filesystem", "network", "process"])
        let cycle = CollectionCycle(collectors: collectors)

        var out = "# monagent once, host collectors over Tests/Fixtures/proc/root (MonagentOnceGoldenTests)\n"
        out += describe(cycle: 1, cycle.run(timestampMs: firstTimestampMs), timestampMs: firstTimestampMs)
        try applyCycle2(to: root)
        let second = firstTimestampMs + intervalMs
        out += describe(cycle: 2, cycle.run(timestampMs: second), timestampMs: second)
        return out
    }

    /// Writes `golden/cycle2/` over the root (in place, as the kernel rewrites a file) and deletes the gone pids.
    static func applyCycle2(to root: WritableRoot) throws {
        let overlay = Fixtures.directory.appendingPathComponent("proc/golden/cycle2")
        let files = FileManager.default.enumerator(at: overlay, includingPropertiesForKeys: [.isRegularFileKey])
        var relativePaths: [String] = []
        while let url = files?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            relativePaths.append(
                String(url.standardizedFileURL.path.dropFirst(overlay.standardizedFileURL.path.count + 1)))
        }
        #expect(!relativePaths.isEmpty)
        for path in relativePaths.sorted() {
            let destination = root.url.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            let bytes = try Fixtures.bytes("proc/golden/cycle2/" + path)
            if FileManager.default.fileExists(atPath: destination.path) {
                let handle = try FileHandle(forWritingTo: destination)
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: Data(bytes))
                try handle.close()
            } else {
                try Data(bytes).write(to: destination)
            }
        }
        let removed = try Fixtures.text("proc/golden/cycle2-removed.txt").split(separator: "\n")
        for pid in removed where !pid.isEmpty { try root.delete(String(pid)) }
    }

    static func describe(cycle number: Int, _ result: CollectionCycle.Result, timestampMs: Int64) -> String {
        #expect(result.samples.allSatisfy { $0.timestampMs == timestampMs })
        var lines = result.samples.map { sample -> String in
            let labels = sample.labels.pairs.sorted { $0.name < $1.name }
                .map { "\($0.name)=\"\(escape($0.value))\"" }.joined(separator: ",")
            let value = sample.name.hasSuffix("_duration_seconds") ? "<duration>" : "\(sample.value)"
            return "\(sample.name){\(labels)} \(sample.kind.name) \(value)"
        }
        lines.sort()
        var out = "# cycle \(number): \(result.samples.count) samples\n"
        out += lines.map { $0 + "\n" }.joined()
        for failure in result.failures.sorted(by: { $0.collector < $1.collector }) {
            out += "# failure \(failure.collector): \(failure.error)\n"
        }
        return out
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A line diff for golden files: the lines removed (`- `) and added (`+ `), under the `# ` heading
/// lines they come after (longest common subsequence; golden files are a few hundred lines).
/// Empty when equal.
enum GoldenDiff {
    static func lines(expected: String, actual: String) -> String {
        guard expected != actual else { return "" }
        let old = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let new = actual.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let oldLines = old.last == "" ? Array(old.dropLast()) : old
        let newLines = new.last == "" ? Array(new.dropLast()) : new
        let rows = oldLines.count + 1
        let columns = newLines.count + 1
        var common = [Int](repeating: 0, count: rows * columns)
        for i in stride(from: oldLines.count - 1, through: 0, by: -1) {
            for j in stride(from: newLines.count - 1, through: 0, by: -1) {
                common[i * columns + j] =
                    oldLines[i] == newLines[j]
                    ? common[(i + 1) * columns + j + 1] + 1
                    : max(common[(i + 1) * columns + j], common[i * columns + j + 1])
            }
        }
        var out = ""
        var changed = false
        var i = 0
        var j = 0
        while i < oldLines.count || j < newLines.count {
            if i < oldLines.count, j < newLines.count, oldLines[i] == newLines[j] {
                if oldLines[i].hasPrefix("# ") { out += "  \(oldLines[i])\n" }
                i += 1
                j += 1
            } else if j < newLines.count,
                i == oldLines.count || common[i * columns + j + 1] > common[(i + 1) * columns + j]
            {
                out += "+ \(newLines[j])\n"
                changed = true
                j += 1
            } else {
                out += "- \(oldLines[i])\n"
                changed = true
                i += 1
            }
        }
        if !changed { out += "(the files differ only in line endings)\n" }
        return out
    }
}
