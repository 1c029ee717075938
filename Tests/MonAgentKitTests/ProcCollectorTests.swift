import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcCollectorTests {
    @Test func cpuCountersLoadAndPressure() throws {
        let collector = CPUCollector(procFS: try ProcFixtures.root(), clockTicksPerSecond: 100)
        let samples = try collector.collect(timestampMs: 1_000)
        #expect(samples.allSatisfy { $0.timestampMs == 1_000 })
        #expect(samples.value("mon_host_cpu_seconds_total", ["cpu": "all", "mode": "user"]) == 239.53)
        #expect(samples.value("mon_host_cpu_seconds_total", ["cpu": "1", "mode": "steal"]) == 0.88)
        #expect(samples.named("mon_host_cpu_seconds_total").count == 3 * 8)
        #expect(samples.named("mon_host_cpu_seconds_total").allSatisfy { $0.kind == .counter })
        #expect(samples.named("mon_host_cpu_usage_ratio").isEmpty)
        #expect(samples.value("mon_host_cpu_cores") == 2)
        #expect(samples.value("mon_host_load1") == 2.04)
        #expect(samples.value("mon_host_load15") == 0.31)
        #expect(samples.value("mon_host_context_switches_total") == 336_508)
        #expect(samples.value("mon_host_processes_running") == 6)
        #expect(samples.value("mon_host_pressure_ratio", ["resource": "cpu", "kind": "some"]) == 0.1124)
        #expect(
            samples.value("mon_host_pressure_stalled_seconds_total", ["resource": "io", "kind": "full"]) == 4.494879)
        #expect(samples.named("mon_host_pressure_ratio").count == 6)
    }

    @Test func cpuUsageRatioNeedsTwoCycles() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.write("stat", "cpu  100 0 100 700 100 0 0 0\ncpu0 50 0 50 350 50 0 0 0\ncpu1 50 0 50 350 50 0 0 0\n")
        let collector = CPUCollector(procFS: root.procFS, clockTicksPerSecond: 100)
        #expect(try collector.collect(timestampMs: 0).named("mon_host_cpu_usage_ratio").isEmpty)

        try root.write("stat", "cpu  850 0 100 900 150 0 0 0\ncpu0 50 0 50 450 50 0 0 0\ncpu1 800 0 50 450 100 0 0 0\n")
        let samples = try collector.collect(timestampMs: 10_000)
        #expect(samples.value("mon_host_cpu_usage_ratio", ["cpu": "all"]) == 0.75)
        #expect(samples.value("mon_host_cpu_usage_ratio", ["cpu": "0"]) == 0)
        let cpu1 = try #require(samples.value("mon_host_cpu_usage_ratio", ["cpu": "1"]))
        #expect(abs(cpu1 - 750.0 / 900.0) < 1e-12)
    }

    @Test func missingPressureIsNotAnError() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.delete("pressure")
        let samples = try CPUCollector(procFS: root.procFS).collect(timestampMs: 0)
        #expect(samples.named("mon_host_pressure_ratio").isEmpty)
        #expect(samples.value("mon_host_load5") == 0.82)
    }

    @Test func cpuFailsWhenStatIsMissing() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.delete("stat")
        #expect(throws: ProcError.self) { try CPUCollector(procFS: root.procFS).collect(timestampMs: 0) }
    }

    @Test func memory() throws {
        let samples = try MemoryCollector(procFS: try ProcFixtures.root()).collect(timestampMs: 5)
        let kib = 1024.0
        #expect(samples.value("mon_host_memory_total_bytes") == 24_683_656 * kib)
        #expect(samples.value("mon_host_memory_available_bytes") == 24_027_240 * kib)
        #expect(samples.value("mon_host_memory_used_bytes") == (24_683_656 - 24_027_240) * kib)
        #expect(samples.value("mon_host_memory_free_bytes") == 22_810_600 * kib)
        #expect(samples.value("mon_host_memory_buffers_bytes") == 28_104 * kib)
        #expect(samples.value("mon_host_memory_cached_bytes") == 1_349_100 * kib)
        #expect(samples.value("mon_host_memory_used_ratio") == (24_683_656.0 - 24_027_240.0) / 24_683_656.0)
        #expect(samples.value("mon_host_swap_total_bytes") == 0)
        #expect(samples.value("mon_host_swap_free_bytes") == 0)
        #expect(samples.count == 9)
    }

    @Test func diskSkipsLoopAndZramAndDerivesRates() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let collector = DiskCollector(procFS: root.procFS)
        let first = try collector.collect(timestampMs: 0)
        #expect(Set(first.map { $0.labels["device"] ?? "" }) == ["vda"])
        #expect(first.value("mon_host_disk_read_bytes_total", ["device": "vda"]) == 2_672_554.0 * 512)
        #expect(first.value("mon_host_disk_io_time_seconds_total", ["device": "vda"]) == 9.648)
        #expect(first.named("mon_host_disk_iops").isEmpty)

        try root.write(
            "diskstats",
            " 254       0 vda 31477 6406 2674602 11760 13387 29704 2523464 20223 0 10148 34340 2002 0 366936 623\n")
        let second = try collector.collect(timestampMs: 2_000)
        let vda: Labels = ["device": "vda"]
        #expect(second.value("mon_host_disk_read_bytes_per_second", vda) == 524_288)
        #expect(second.value("mon_host_disk_write_bytes_per_second", vda) == 1_048_576)
        #expect(second.value("mon_host_disk_iops", vda) == 75)
        let utilization = try #require(second.value("mon_host_disk_utilization_ratio", vda))
        #expect(abs(utilization - 0.25) < 1e-9)

        try root.write(
            "diskstats",
            " 254       0 vda 31477 6406 2674602 11760 13387 29704 2523464 20223 0 19148 34340 2002 0 366936 623\n")
        let third = try collector.collect(timestampMs: 3_000)
        #expect(third.value("mon_host_disk_utilization_ratio", vda) == 1)
    }

    @Test func diskIgnorePrefixesAreConfigurable() throws {
        let collector = DiskCollector(procFS: try ProcFixtures.root(), ignoredDevicePrefixes: ["loop"])
        #expect(collector.isIgnored("loop7"))
        #expect(!collector.isIgnored("loopy"))
        let devices = Set(try collector.collect(timestampMs: 0).compactMap { $0.labels["device"] })
        #expect(devices == ["vda", "zram0"])
    }

    @Test func filesystemReportsRealMountsAndSkipsFailures() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.write(
            "self/mounts",
            """
            /dev/vda / ext4 rw,relatime 0 0
            proc /proc proc rw 0 0
            /dev/vdb /broken ext4 rw 0 0
            /dev/vdc /empty xfs rw 0 0
            /dev/vdd /media/My\\040Disk vfat rw 0 0

            """)
        let collector = FilesystemCollector(procFS: root.procFS) { mountpoint in
            switch mountpoint {
            case "/": return FilesystemUsage(sizeBytes: 1000, freeBytes: 400, availableBytes: 300)
            case "/empty": return FilesystemUsage(sizeBytes: 0, freeBytes: 0, availableBytes: 0)
            case "/media/My Disk": return FilesystemUsage(sizeBytes: 10, freeBytes: 10, availableBytes: 10)
            default: throw ProcError(code: .notFound, path: mountpoint, errno: 2, message: "gone")
            }
        }
        let samples = try collector.collect(timestampMs: 0)
        let rootLabels: Labels = ["mountpoint": "/", "device": "/dev/vda", "fstype": "ext4"]
        #expect(samples.value("mon_host_filesystem_size_bytes", rootLabels) == 1000)
        #expect(samples.value("mon_host_filesystem_free_bytes", rootLabels) == 400)
        #expect(samples.value("mon_host_filesystem_avail_bytes", rootLabels) == 300)
        #expect(samples.value("mon_host_filesystem_used_ratio", rootLabels) == 600.0 / 900.0)
        let diskLabels: Labels = ["mountpoint": "/media/My Disk", "device": "/dev/vdd", "fstype": "vfat"]
        #expect(samples.value("mon_host_filesystem_used_ratio", diskLabels) == 0)
        #expect(Set(samples.compactMap { $0.labels["mountpoint"] }) == ["/", "/media/My Disk"])

        // The same table is not parsed again; a changed one is.
        _ = try collector.collect(timestampMs: 1)
        #expect(collector.mountTableParses == 1)
        try root.write(
            "self/mounts",
            """
            /dev/vda / ext4 rw,relatime 0 0
            /dev/vdc /empty xfs rw 0 0

            """)
        let after = try collector.collect(timestampMs: 2)
        #expect(collector.mountTableParses == 2)
        #expect(Set(after.compactMap { $0.labels["mountpoint"] }) == ["/"])
    }

    @Test func filesystemWithRealStatvfs() throws {
        let samples = try FilesystemCollector(procFS: try ProcFixtures.root()).collect(timestampMs: 0)
        let size = try #require(
            samples.value(
                "mon_host_filesystem_size_bytes", ["mountpoint": "/", "device": "/dev/vda", "fstype": "ext4"]))
        #expect(size > 0)
    }

    @Test func networkCountersRatesAndSockets() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let collector = NetworkCollector(procFS: root.procFS)
        let first = try collector.collect(timestampMs: 0)
        let eth0: Labels = ["interface": "eth0"]
        #expect(Set(first.compactMap { $0.labels["interface"] }) == ["ifb0", "ifb1", "eth0"])
        #expect(first.value("mon_host_network_receive_bytes_total", eth0) == 48_274_307)
        #expect(first.value("mon_host_network_transmit_packets_total", eth0) == 707)
        #expect(first.named("mon_host_network_receive_bytes_total").allSatisfy { $0.kind == .counter })
        #expect(first.named("mon_host_network_receive_bytes_per_second").isEmpty)
        #expect(first.value("mon_host_sockets_used") == 33)
        #expect(first.value("mon_host_sockets", ["protocol": "tcp", "state": "alloc"]) == 1)
        #expect(first.value("mon_host_sockets", ["protocol": "udp", "state": "inuse"]) == 0)
        #expect(first.named("mon_host_sockets").count == 5)

        try root.write(
            "net/dev",
            """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
              eth0: 48284307    1449    0    0    0     0          0         0    56761     717    0    0    0     0       0          0

            """)
        let second = try collector.collect(timestampMs: 5_000)
        #expect(second.value("mon_host_network_receive_bytes_per_second", eth0) == 2_000)
        #expect(second.value("mon_host_network_transmit_bytes_per_second", eth0) == 100)
        #expect(second.value("mon_host_sockets_used") == 33)
    }

    @Test func networkWithoutSockstatIsNotAnError() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        try root.delete("net/sockstat")
        let samples = try NetworkCollector(procFS: root.procFS).collect(timestampMs: 0)
        #expect(samples.named("mon_host_sockets_used").isEmpty)
        #expect(samples.value("mon_host_network_receive_bytes_total", ["interface": "eth0"]) == 48_274_307)
    }

    @Test func keptFilesAreReReadEveryCycleAndReopenedAfterAFailure() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let collector = MemoryCollector(procFS: root.procFS)
        #expect(try collector.collect(timestampMs: 0).value("mon_host_memory_total_bytes") == 24_683_656 * 1024)
        try root.write("meminfo", "MemTotal: 1000 kB\nMemFree: 500 kB\nMemAvailable: 600 kB\n")
        #expect(try collector.collect(timestampMs: 1).value("mon_host_memory_total_bytes") == 1000 * 1024)

        let file = root.procFS.file("gone")
        #expect(throws: ProcError.self) { try file.read() }
        try root.write("gone", "back")
        #expect(try file.read() == Array("back".utf8))
        #expect(file.isOpen)

        let member = root.procFS.file("101/stat", reopens: false)
        _ = try member.read()
        member.close()
        #expect(throws: ProcError.self) { try member.read() }
    }

    @Test func keptFilesReadFilesLargerThanTheirBuffer() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let text = String(repeating: "0123456789abcdef", count: 1_000)
        try root.write("big", text)
        let file = ProcFile(path: root.procFS.path("big"), initialCapacity: 100)
        #expect(try file.read() == Array(text.utf8))
        #expect(try file.read() == Array(text.utf8))
    }

    @Test func networkIncludesLoopbackWhenAsked() throws {
        let samples = try NetworkCollector(procFS: try ProcFixtures.root(), ignoredInterfaces: []).collect(
            timestampMs: 0)
        #expect(samples.value("mon_host_network_receive_bytes_total", ["interface": "lo"]) == 3193)
    }

    @Test func hostCollectorsRunAgainstTheFixtureRoot() throws {
        let root = try ProcFixtures.root()
        let collectors = HostCollectors.make(procRoot: root.root)
        #expect(collectors.map(\.name) == ["cpu", "memory", "disk", "filesystem", "network", "process"])
        for collector in collectors {
            #expect(try !collector.collect(timestampMs: 0).isEmpty, "\(collector.name)")
        }
    }
}
