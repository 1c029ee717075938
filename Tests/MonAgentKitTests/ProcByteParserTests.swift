import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The byte-level helpers of the /proc parsers (`ProcBytes`, `ProcFile.withBytes`), and every
/// parser fed hostile content: truncated lines, huge numbers, missing fields, bytes that are not
/// UTF-8. Each input is either parsed or rejected with a `ProcParseError` naming the line.
@Suite struct ProcByteParserTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func double(_ text: String) -> Double? {
        bytes(text).withUnsafeBufferPointer { ProcBytes.finiteDouble($0) }
    }

    @Test("finiteDouble reads what Double(_:) reads, finite only")
    func finiteDoubleMatchesTheStandardLibrary() {
        let inputs = [
            "0", "0.00", "2.04", "0.82", "11.24", "20.49", "100.00", "-1.5", "+2.5", "007.50", "1.", ".5", ".", "",
            "-", "+", "1e3", "1E-2", "0x1p3", "inf", "-inf", "nan", "1.2.3", "12a", "1 2", "123456789012345",
            "1234567890123456", "12345678901234567890.5", "0.0000000000000000000001", "0.00000000000000000000001",
            "1e400", "99999999999999999999999999999999999999", "-0.0",
        ]
        for input in inputs {
            let expected = Double(input).flatMap { $0.isFinite ? $0 : nil }
            let actual = Self.double(input)
            #expect(
                actual?.bitPattern == expected?.bitPattern,
                "\(input): \(String(describing: actual)) vs \(String(describing: expected))")
        }
        var random = SeededGenerator(state: 7)
        for _ in 0..<5_000 {
            let whole = UInt64.random(in: 0...99_999_999, using: &random)
            let fraction = UInt64.random(in: 0...9_999_999, using: &random)
            let width = Int.random(in: 0...7, using: &random)
            var text = String(whole)
            if width > 0 {
                let digits = String(fraction)
                text += "." + String(repeating: "0", count: max(0, width - digits.count)) + digits.suffix(width)
            }
            #expect(Self.double(text)?.bitPattern == Double(text)?.bitPattern, "\(text)")
        }
    }

    @Test("lines are numbered from 1, blank ones skipped, the last one needs no newline")
    func linesAndFields() {
        var seen: [(Int, String)] = []
        Self.bytes("a b\n\n \t\nc\td  e\nlast").withUnsafeBufferPointer { buffer in
            ProcBytes.forEachLine(buffer) { number, line in seen.append((number, ProcBytes.text(line))) }
        }
        #expect(seen.map(\.0) == [1, 4, 5])
        #expect(seen.map(\.1) == ["a b", "c\td  e", "last"])

        Self.bytes(" \tc\td  e \t").withUnsafeBufferPointer { line in
            #expect(ProcBytes.fieldCount(line) == 3)
            var fields = ProcBytes.Fields(line)
            let first = fields.next().map { ProcBytes.text($0) }
            let skipped = fields.skip(1)
            let third = fields.next().map { ProcBytes.text($0) }
            let end = fields.next() == nil
            let skippedPastEnd = fields.skip(1)
            #expect(first == "c")
            #expect(skipped)
            #expect(third == "e")
            #expect(end)
            #expect(!skippedPastEnd)
        }
        Self.bytes("").withUnsafeBufferPointer { empty in
            #expect(ProcBytes.isBlankText(empty))
            #expect(ProcBytes.fieldCount(empty) == 0)
        }
    }

    @Test("ProcNumbers keeps 16 numbers inline and which were set; other indexes are ignored")
    func numbersInline() {
        var numbers = ProcNumbers()
        #expect(numbers[0] == nil)
        numbers[0] = 7
        numbers[15] = UInt64.max
        numbers[16] = 1
        numbers[-1] = 1
        #expect(numbers[0] == 7)
        #expect(numbers[15] == UInt64.max)
        #expect(numbers[16] == nil)
        #expect(numbers[-1] == nil)
        #expect(numbers.value(3) == 0)
        numbers[0] = nil
        #expect(numbers[0] == nil)
        #expect(numbers[15] == UInt64.max)
    }

    @Test("ProcFile.withBytes reads the file again from offset 0, in its own buffer")
    func withBytesRereads() throws {
        let root = try ProcFixtures.writableRoot()
        defer { root.remove() }
        let file = root.procFS.file("loadavg", reopens: true)
        #expect(try file.withBytes { ProcBytes.text($0) } == "2.04 0.82 0.31 6/96 7708\n")
        try root.write("loadavg", String(repeating: "9", count: 10_000))
        #expect(try file.withBytes { $0.count } == 10_000, "a file larger than the first buffer is read whole")
        try root.delete("loadavg")
        try root.write("loadavg", "1.00 2.00 3.00 1/2 3\n")
        // The kept descriptor still reads the deleted file; `read()` copies the same bytes.
        #expect(try file.read().count == 10_000)
        #expect(try root.procFS.file("pressure/none").withBytesIfPresent { $0.count } == nil)
    }

    static let hostile: [(String, @Sendable ([UInt8]) throws -> Void)] = [
        ("stat", { _ = try ProcStatParser.parse($0, userHZ: 100) }),
        ("meminfo", { _ = try MemInfoParser.parse($0) }),
        ("pressure", { _ = try PressureParser.parse($0) }),
        ("loadavg", { _ = try LoadAvgParser.parse($0) }),
        ("diskstats", { _ = try DiskStatsParser.parse($0) }),
        ("net/dev", { _ = try NetDevParser.parse($0) }),
        ("sockstat", { _ = try SockStatParser.parse($0) }),
        ("mounts", { _ = try MountsParser.parse($0) }),
    ]

    /// Inputs each parser must reject, with the line the error names.
    static let rejected: [(parser: String, input: [UInt8], line: Int)] = [
        ("stat", bytes("cpu 1 2 3\n"), 1),
        ("stat", bytes("cpu 18446744073709551616 0 0 0\n"), 1),
        ("stat", bytes("cpu 1 2 3 4\ncpu99999999999999999999 1 2 3 4\n"), 2),
        ("stat", bytes("cpu 1 2 3 4\nprocesses\n"), 2),
        ("stat", [0x63, 0x70, 0x75, 0xFF, 0x20, 0x31], 1),
        ("meminfo", bytes("MemTotal: 18446744073709551615 kB\nMemFree: 1 kB\n"), 1),
        ("meminfo", bytes("MemTotal: 1 MB\nMemFree: 1 kB\n"), 1),
        ("meminfo", bytes("MemTotal:\nMemFree: 1 kB\n"), 1),
        ("meminfo", bytes("MemTotal: 1 kB\nno colon here\n"), 2),
        ("meminfo", [0x4D, 0x65, 0x6D, 0xFF, 0x0A], 1),
        ("pressure", bytes("some avg10=1e400 avg60=0 avg300=0 total=0\n"), 1),
        ("pressure", bytes("some avg10=nan avg60=0 avg300=0 total=0\n"), 1),
        ("pressure", bytes("some avg10=0.00 avg60=0.00 avg300=0.00\n"), 1),
        ("pressure", bytes("some avg10=0.00 avg60=0.00 avg300=0.00 total=99999999999999999999\n"), 1),
        ("pressure", bytes("some avg10=0 avg60=0 avg300=0 total=0\nhalf avg10=0 avg60=0 avg300=0 total=0\n"), 2),
        ("pressure", bytes("some avg10=0 avg60=0 avgXXX=0 total=0\n"), 1),
        ("loadavg", bytes("2.04 0.80\n"), 1),
        ("loadavg", bytes("2.04 0.80 inf 1/2 3\n"), 1),
        ("loadavg", bytes("\n\n2.04 0.80 0.30 4/89/1 7401\n"), 3),
        ("loadavg", bytes("2.04 0.80 0.30 4/ 7401\n"), 1),
        ("diskstats", bytes("   8 0 sda 1 2 3 4 5 6 7 8 9 10\n"), 1),
        ("diskstats", bytes("   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n 4294967296 0 sdb 1 2 3 4 5 6 7 8 9 10 11\n"), 2),
        ("diskstats", bytes("   8 0 sda 1 2 3 4 5 6 7 8 9 x 11\n"), 1),
        ("net/dev", bytes("h|h\n eth0: 1 2 3\n"), 2),
        ("net/dev", bytes("h|h\n et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"), 2),
        ("net/dev", bytes("h|h\n eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"), 2),
        ("net/dev", bytes("h|h\n eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -16\n"), 2),
        ("sockstat", bytes("sockets: used\n"), 1),
        ("sockstat", bytes("sockets: used 1\nTCP inuse 1\n"), 2),
        ("sockstat", bytes("sockets: used 1\nTCP: inuse 18446744073709551616\n"), 2),
        ("sockstat", bytes("sockets: free 1\n"), 1),
        ("mounts", bytes("/dev/vda /\n"), 1),
        ("mounts", bytes("/dev/vda / ext4 rw 0 0\n/dev/vdb relative ext4 rw 0 0\n"), 2),
    ]

    @Test("hostile content is rejected with a ProcParseError naming the line")
    func hostileContentIsRejected() throws {
        for (name, input, line) in Self.rejected {
            let parse = try #require(Self.hostile.first { $0.0 == name }?.1)
            do {
                try parse(input)
                Issue.record("\(name) accepted \(ProcBytes.text(input.withUnsafeBufferPointer { $0 }, limit: 80))")
            } catch let error as ProcParseError {
                #expect(error.line == line, "\(name): \(error)")
            } catch {
                Issue.record("\(name): unexpected error \(error)")
            }
        }
    }

    @Test("odd but harmless content parses: other lines, missing optional fields, names that are not UTF-8")
    func oddContentParses() throws {
        let stat = try ProcStatParser.parse(
            Self.bytes("cpu 1 2 3 4\ncpu+1 5 6 7 8\nintr x y\nctxt 9 junk\n"), userHZ: 1)
        #expect(stat.perCPU[1]?.user == 5)
        #expect(stat.contextSwitches == 9)

        let memory = try MemInfoParser.parse(
            [0xFF, 0x3A, 0x20, 0x78, 0x0A] + Self.bytes("MemTotal: 2\nMemFree: 1 kB\n"))
        #expect(memory.totalBytes == 2)
        #expect(memory.freeBytes == 1024)

        var disk = Self.bytes("   8 0 ")
        disk += [0x73, 0xFF, 0x61] + Self.bytes(" 1 2 3 4 5 6 7 8 9 10 11\n")
        #expect(try DiskStatsParser.parse(disk).first?.device == "s\u{FFFD}a")
        #expect(try DiskStatsParser.parse(Self.bytes("")).isEmpty)

        let mounts = try MountsParser.parse([0xFE] + Self.bytes(" /mnt/a\\040b ext4 rw,,noatime 0 0\n"))
        #expect(mounts.first?.device == "\u{FFFD}")
        #expect(mounts.first?.mountpoint == "/mnt/a b")
        #expect(mounts.first?.options == ["rw", "noatime"])

        let load = try LoadAvgParser.parse(Self.bytes("\n 2.04 0.80 0.30\n"))
        #expect(load.load1 == 2.04)
        #expect(load.tasks == nil)

        let sockets = try SockStatParser.parse(Self.bytes("sockets: used 3 used 4\nRAW: inuse 1\nUDP: inuse 2 mem 3\n"))
        #expect(sockets.socketsUsed == 4)
        #expect(sockets.udp == ["inuse": 2, "mem": 3])
        #expect(sockets.tcp.isEmpty)
    }

    @Test("a megabyte line, NUL bytes and every byte value never trap")
    func bigAndBinaryInputsNeverTrap() {
        var inputs: [[UInt8]] = [
            [UInt8](repeating: UInt8(ascii: "9"), count: 1 << 20),
            [UInt8](repeating: 0, count: 4096),
            Array(0...255),
            Self.bytes("cpu ") + [UInt8](repeating: UInt8(ascii: "1"), count: 100_000),
        ]
        inputs.append(inputs[2].reversed())
        for (name, parse) in Self.hostile {
            for input in inputs {
                do { try parse(input) } catch is ProcParseError {} catch { Issue.record("\(name): \(error)") }
            }
        }
    }
}
