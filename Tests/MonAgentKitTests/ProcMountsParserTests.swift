import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcMountsParserTests {
    @Test func parsesTheCapturedFile() throws {
        let mounts = try MountsParser.parse(ProcFixtures.bytes("self/mounts"))
        #expect(mounts.count == 19)
        let root = try #require(mounts.first { $0.mountpoint == "/" })
        #expect(root.device == "/dev/vda")
        #expect(root.fstype == "ext4")
        #expect(root.options.first == "rw")
    }

    @Test func decodesOctalEscapes() throws {
        let mounts = try MountsParser.parse(Array("/dev/sdb1 /media/My\\040Disk\\011x\\134y vfat rw 0 0\n".utf8))
        #expect(mounts.first?.mountpoint == "/media/My Disk\tx\\y")
    }

    @Test(arguments: [
        ("a\\040b", "a b"), ("\\", "\\"), ("end\\04", "end\\04"), ("x\\999", "x\\999"), ("\\101\\102", "AB"),
    ])
    func unescapeIsTotal(_ input: String, _ expected: String) {
        #expect(MountsParser.unescape(Substring(input)) == expected)
    }

    @Test func selectionDropsPseudoAndRepeatedMountpoints() throws {
        let mounts = try MountsParser.parse(ProcFixtures.bytes("self/mounts"))
        let selected = FilesystemCollector.select(mounts, ignoring: FilesystemCollector.defaultIgnoredTypes)
        #expect(selected.map(\.mountpoint) == ["/"])

        let stacked = [
            Mount(device: "/dev/sda1", mountpoint: "/data", fstype: "ext4"),
            Mount(device: "overlay", mountpoint: "/", fstype: "overlay"),
            Mount(device: "/dev/sdb1", mountpoint: "/data", fstype: "xfs"),
            Mount(device: "tmpfs", mountpoint: "/tmp", fstype: "tmpfs"),
        ]
        let chosen = FilesystemCollector.select(stacked, ignoring: FilesystemCollector.defaultIgnoredTypes)
        #expect(chosen == [stacked[2], stacked[1]])
    }

    @Test func emptyFileMeansNoMounts() throws {
        #expect(try MountsParser.parse([]).isEmpty)
    }

    @Test(arguments: [
        ProcInput("truncated", "/dev/vda /"),
        ProcInput("garbage", "mounted\n"),
        ProcInput("relative mountpoint", "/dev/vda data ext4 rw 0 0\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try MountsParser.parse(input.bytes) }
    }
}
