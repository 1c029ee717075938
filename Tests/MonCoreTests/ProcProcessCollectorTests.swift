import Testing

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
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let collector = ProcessCollector(procFS: root.procFS, clockTicksPerSecond: 100, pageSize: 4096)
        _ = try collector.collect(timestampMs: 10_000)

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

    private func statLine(pid: Int, comm: String, utime: Int, stime: Int, start: Int) -> String {
        "\(pid) (\(comm)) S 1 \(pid) \(pid) 0 -1 4194560 1200 0 3 0 \(utime) \(stime) 0 0 20 0 1 0 \(start) "
            + "123456789 100 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    }
}
