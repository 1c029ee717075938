import Testing

@testable import MonAgentKit
@testable import MonCore

#if canImport(Glibc)
    import Glibc
#endif

/// Which mappings the agent gives back after start-up, and that doing so is harmless.
@Suite struct ProgramCodeTrimTests {
    static let smaps = """
        55d0c0a00000-55d0c2b18000 r-xp 00000000 fe:01 1311 /usr/local/bin/monagent
        Size:              34912 kB
        Rss:               18436 kB
        Anonymous:             0 kB
        55d0c2b18000-55d0c2bf0000 r--p 02117000 fe:01 1311 /usr/local/bin/monagent
        Size:                872 kB
        Anonymous:           872 kB
        55d0c2bf0000-55d0c5100000 rw-p 021ef000 fe:01 1311 /usr/local/bin/monagent
        Anonymous:           368 kB
        55d0c5100000-55d0c5200000 r-xp 04000000 fe:01 1311 /usr/local/bin/monagent
        Anonymous:             4 kB
        7f1a2c000000-7f1a2c156000 r-xp 00028000 fe:01 2040 /usr/lib/x86_64-linux-gnu/libc.so.6
        Anonymous:             0 kB
        7f1a2d000000-7f1a2d001000 r-xp 00000000 fe:01 1400 /usr/local/bin/monagent (deleted)
        Anonymous:             0 kB
        7ffd6a1f0000-7ffd6a211000 rw-p 00000000 00:00 0                          [stack]
        Anonymous:           132 kB
        ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
        Anonymous:             0 kB
        """

    @Test("only the program's r-xp mappings without a private page qualify")
    func selectsCleanCodeOfTheProgram() {
        let mappings = ProgramCodeTrim.mappings(smaps: Self.smaps, program: "/usr/local/bin/monagent")
        #expect(mappings == [.init(start: 0x55d0_c0a0_0000, end: 0x55d0_c2b1_8000)])
    }

    @Test("another program, an empty or a garbled text gives nothing")
    func nothingElse() {
        #expect(ProgramCodeTrim.mappings(smaps: Self.smaps, program: "/usr/bin/other").isEmpty)
        #expect(ProgramCodeTrim.mappings(smaps: "", program: "/usr/local/bin/monagent").isEmpty)
        #expect(
            ProgramCodeTrim.mappings(
                smaps: "zz-yy r-xp 0 0 0 /usr/local/bin/monagent\n", program: "/usr/local/bin/monagent"
            )
            .isEmpty)
        #expect(ProgramCodeTrim.mappings(smaps: "\n\n r-xp\n-\n", program: "").isEmpty)
    }

    @Test("the code is trimmed after the second cycle, then every five minutes whatever the interval")
    func schedule() {
        let at5s = (1...200).filter { ProgramCodeTrim.isDue(afterRun: $0, interval: 5) }
        #expect(at5s == [2, 62, 122, 182])
        let at60s = (1...12).filter { ProgramCodeTrim.isDue(afterRun: $0, interval: 60) }
        #expect(at60s == [2, 7, 12])
        // An interval longer than the period trims after every cycle from the second on.
        #expect((1...4).filter { ProgramCodeTrim.isDue(afterRun: $0, interval: 600) } == [2, 3, 4])
        #expect(!ProgramCodeTrim.isDue(afterRun: 0, interval: 5))
        #expect(!ProgramCodeTrim.isDue(afterRun: 1, interval: 0))
    }

    @Test("trimming this test process gives pages back and it keeps running")
    func trimsItself() {
        #expect(ProgramCodeTrim.trim() > 0)
        // Code runs on, faulted back in from the page cache.
        #expect(ProgramCodeTrim.mappings(smaps: Self.smaps, program: "/usr/local/bin/monagent").count == 1)
        #expect(ProgramCodeTrim.trim(procFS: ProcFS(root: "/nonexistent")) == 0)
    }

    @Test("the heap trim finds glibc's malloc_trim and the process runs on after it")
    func heapTrim() {
        #expect(HeapTrim.available)
        // 64 blocks of 64 KiB (below the mmap threshold), freed in the middle of the heap,
        // where only malloc_trim returns them (whether it does depends on the other threads'
        // allocations, so only the call is checked).
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<64 {
            guard let block = malloc(64 << 10) else { continue }
            memset(block, 1, 64 << 10)
            blocks.append(block)
        }
        let keep = malloc(16)
        for block in blocks { free(block) }
        HeapTrim.trim()
        free(keep)
        #expect(blocks.count == 64)
    }
}
