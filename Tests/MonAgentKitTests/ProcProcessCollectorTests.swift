import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcProcessCollectorTests {
    static func group(_ name: String) -> Labels { ["group": name] }

    @Test func sumsMembersPerGroup() throws {
        let collector = ProcessCollector(procFS: try ProcFixtures.root(), clockTicksPerSecond: 100, pageSize: 4096)
        let samples = try collector.collect(timestampMs: 0)
        let uvicorn = Self.group("uvicorn")
        // 101 (python3 -m uvicorn) and 102 (.../bin/uvicorn); 404 is a zombie.
        #expect(samples.value("mon_process_processes", uvicorn) == 2)
        #expect(samples.value("mon_process_cpu_seconds_total", uvicorn) == 6)
        #expect(samples.named("mon_process_cpu_seconds_total").allSatisfy { $0.kind == .counter })
        #expect(samples.value("mon_process_resident_memory_bytes", uvicorn) == 1500.0 * 4096)
        #expect(samples.value("mon_process_threads", uvicorn) == 6)
        #expect(samples.value("mon_process_open_fds", uvicorn) == 7)

        let postgres = Self.group("postgres")
        #expect(samples.value("mon_process_processes", postgres) == 1)
        #expect(samples.value("mon_process_cpu_seconds_total", postgres) == 0.5)
        #expect(samples.value("mon_process_open_fds", postgres) == 2)

        for empty in ["redis-server", "monagent"] {
            #expect(samples.value("mon_process_processes", Self.group(empty)) == 0)
            #expect(samples.value("mon_process_resident_memory_bytes", Self.group(empty)) == 0)
        }
        #expect(samples.named("mon_process_cpu_usage_ratio").isEmpty)
        #expect(samples.count == 4 * 5)
    }

    @Test func usageRatioFollowsEachProcessAcrossExitAndStart() throws {
        let (root, collector) = try afterFirstCycle(at: 10_000)
        defer { root.remove() }

        // 101 uses 1 s more CPU over 2 s; 102 exits; pid 202 is reused by a new postgres with 9 s of CPU.
        try root.write("101/stat", statLine(pid: 101, comm: "python3", utime: 250, stime: 50, start: 5000))
        try root.delete("102")
        try root.write("202/stat", statLine(pid: 202, comm: "postgres", utime: 800, stime: 100, start: 9000))
        let samples = try collector.collect(timestampMs: 12_000)
        #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 1)
        #expect(samples.value("mon_process_cpu_seconds_total", Self.group("uvicorn")) == 3)
        #expect(samples.value("mon_process_cpu_usage_ratio", Self.group("uvicorn")) == 0.5)
        #expect(samples.value("mon_process_cpu_usage_ratio", Self.group("postgres")) == 0)
        #expect(samples.value("mon_process_cpu_usage_ratio", Self.group("redis-server")) == 0)
    }

    @Test func customGroupsAndFirstMatchWins() throws {
        let groups = [
            ProcessGroup(name: "python", comm: ["python3"]),
            ProcessGroup(name: "web", cmdline: ["uvicorn"]),
        ]
        let collector = ProcessCollector(procFS: try ProcFixtures.root(), groups: groups, clockTicksPerSecond: 100)
        let samples = try collector.collect(timestampMs: 0)
        #expect(samples.value("mon_process_processes", Self.group("python")) == 1)
        #expect(samples.value("mon_process_processes", Self.group("web")) == 1)
    }

    @Test func garbageStatOfOneProcessSkipsOnlyThatProcess() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.write("101/stat", "101 (python3")
        let samples = try ProcessCollector(procFS: root.procFS, clockTicksPerSecond: 100).collect(timestampMs: 0)
        #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 1)
        #expect(samples.value("mon_process_processes", Self.group("postgres")) == 1)
    }

    @Test func missingRootFails() {
        let collector = ProcessCollector(procFS: ProcFS(root: "/nonexistent-mon-proc"))
        #expect(throws: ProcError.self) { try collector.collect(timestampMs: 0) }
    }

    @Test func newPidsAreIdentifiedAndVanishedPidsForgotten() throws {
        let (root, collector) = try afterFirstCycle()
        defer { root.remove() }
        // 101, 102, 202 are members (stat kept open); 303 and the zombie 404 are remembered in no group.
        #expect(collector.trackedCounts.pids == 5)
        #expect(collector.trackedCounts.open == 3)

        try root.delete("102")
        try root.makeProcess(505, stat: statLine(pid: 505, comm: "redis-server", utime: 10, stime: 0, start: 9100))
        let samples = try collector.collect(timestampMs: 5_000)
        #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 1)
        #expect(samples.value("mon_process_processes", Self.group("redis-server")) == 1)
        #expect(samples.value("mon_process_cpu_seconds_total", Self.group("redis-server")) == 0.1)
        #expect(collector.trackedCounts.pids == 5)
        #expect(collector.trackedCounts.open == 3)
    }

    @Test func aMemberWhoseStartTimeChangesIsANewProcess() throws {
        let (root, collector) = try afterFirstCycle()
        defer { root.remove() }
        // pid 101 reused by a process in no group: it leaves uvicorn at once.
        try root.write("101/stat", statLine(pid: 101, comm: "bash", utime: 1, stime: 1, start: 9500))
        try root.write("101/cmdline", "bash\0")
        var samples = try collector.collect(timestampMs: 5_000)
        #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 1)
        #expect(collector.trackedCounts.open == 2)
        // pid 101 reused again, by a uvicorn: found although the pid is not new.
        try root.write("101/stat", statLine(pid: 101, comm: "python3", utime: 10, stime: 0, start: 9600))
        try root.write("101/cmdline", "python3\0-m\0uvicorn\0")
        samples = try collector.collect(timestampMs: 10_000)
        #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 2)
        #expect(samples.value("mon_process_cpu_seconds_total", Self.group("uvicorn")) == 4.1)
    }

    @Test func aProcessInNoGroupIsIdentifiedAgainOnTheNextCycleThenPeriodically() throws {
        let (root, collector) = try afterFirstCycle(reidentifyEveryCycles: 4)
        defer { root.remove() }

        // A fork that execs uvicorn after the first look (same pid, same start time, new comm).
        try root.write("303/stat", statLine(pid: 303, comm: "uvicorn", utime: 1, stime: 0, start: 4500))
        try root.write("303/cmdline", "/venv/bin/uvicorn\0app:app\0")
        var samples = try collector.collect(timestampMs: 5_000)
        #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 3, "rechecked on the next cycle")

        // pid 606 appears, is checked on cycles 3 and 4, then only when (pid + cycle) % 4 == 0.
        try root.makeProcess(606, stat: statLine(pid: 606, comm: "sh", utime: 0, stime: 0, start: 9900))
        _ = try collector.collect(timestampMs: 10_000)  // cycle 3: new
        _ = try collector.collect(timestampMs: 15_000)  // cycle 4: next-cycle recheck
        try root.write("606/stat", statLine(pid: 606, comm: "redis-server", utime: 0, stime: 0, start: 9900))
        var found: [Int] = []
        for cycle in 5...9 {
            samples = try collector.collect(timestampMs: Int64(cycle) * 5_000)
            if samples.value("mon_process_processes", Self.group("redis-server")) == 1 { found.append(cycle) }
        }
        #expect(found == [6, 7, 8, 9], "identified again on cycle 6 ((606 + 6) % 4 == 0), then followed")
    }

    @Test func malformedStatOfAMemberSkipsItUntilItParsesAgain() throws {
        let (root, collector) = try afterFirstCycle()
        defer { root.remove() }
        for garbage in ["", "202 (postgres", "202 (postgres) S x y z\n", "\u{FF}\u{FE}"] {
            try root.write("202/stat", garbage)
            let samples = try collector.collect(timestampMs: 5_000)
            #expect(samples.value("mon_process_processes", Self.group("postgres")) == 0)
            #expect(samples.value("mon_process_processes", Self.group("uvicorn")) == 2)
        }
        try root.write("202/stat", statLine(pid: 202, comm: "postgres", utime: 40, stime: 10, start: 4000))
        // Remembered in no group since its stat did not parse: found again when it is next identified.
        var counted = false
        for cycle in 0..<12 {
            let samples = try collector.collect(timestampMs: 10_000 + Int64(cycle) * 5_000)
            if samples.value("mon_process_processes", Self.group("postgres")) == 1 { counted = true }
        }
        #expect(counted)
    }

    @Test func openDescriptorsAreCountedWhenAMemberIsFoundThenEveryFewCycles() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let collector = ProcessCollector(
            procFS: root.procFS, clockTicksPerSecond: 100, pageSize: 4096, countFDsEveryCycles: 5)
        let postgres = Self.group("postgres")
        #expect(try collector.collect(timestampMs: 0).value("mon_process_open_fds", postgres) == 2)
        try root.write("202/fd/2", "")
        try root.write("202/fd/3", "")
        var counts: [Double?] = []
        for cycle in 2...8 {
            if cycle == 4 { try root.write("202/fd/4", "") }
            counts.append(
                try collector.collect(timestampMs: Int64(cycle) * 5_000).value("mon_process_open_fds", postgres))
        }
        // pid 202 is counted again when (202 + cycle) % 5 == 0: cycles 3 and 8.
        #expect(counts == [2, 4, 4, 4, 4, 4, 5])

        // A member found later is counted on the cycle it is found.
        try root.makeProcess(505, stat: statLine(pid: 505, comm: "redis-server", utime: 1, stime: 0, start: 9100))
        try root.write("505/fd/0", "")
        let samples = try collector.collect(timestampMs: 45_000)
        #expect(samples.value("mon_process_open_fds", Self.group("redis-server")) == 1)
    }

    /// A collector over a fresh copy of the fixture root, after its first cycle at `ms`.
    private func afterFirstCycle(
        at ms: Int64 = 0, reidentifyEveryCycles: Int = 12
    ) throws -> (WritableRoot, ProcessCollector) {
        let root = try ProcFixtures.writableRoot()
        let collector = ProcessCollector(
            procFS: root.procFS, clockTicksPerSecond: 100, pageSize: 4096, reidentifyEveryCycles: reidentifyEveryCycles)
        do {
            _ = try collector.collect(timestampMs: ms)
        } catch {
            root.remove()
            throw error
        }
        return (root, collector)
    }

    private func statLine(pid: Int, comm: String, utime: Int, stime: Int, start: Int) -> String {
        "\(pid) (\(comm)) S 1 \(pid) \(pid) 0 -1 4194560 1200 0 3 0 \(utime) \(stime) 0 0 20 0 1 0 \(start) "
            + "123456789 100 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    }
}
