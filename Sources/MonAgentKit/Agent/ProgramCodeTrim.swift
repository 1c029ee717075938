import MonCore

#if canImport(Glibc)
    import Glibc
#endif

/// Gives back the resident pages of the agent's own program code once it runs its cycles.
///
/// The static release binary maps ~30 MiB of code and read-only data; start-up (argument
/// parsing, configuration, the Swift runtime's first conformance lookups, TLS and client set-up)
/// touches most of it, and the kernel maps 64 KiB around each page it faults in, so ~18 MiB
/// stayed resident although a cycle runs a fraction of it. `trim()` advises `MADV_DONTNEED`
/// on the program's executable mappings: their pages are clean copies of the file, stay in
/// the page cache, and come back on their next use (a minor fault). What stays resident is the
/// code the agent keeps running. Only `r-xp` mappings of the program's own file without a
/// single private (anonymous) page are touched, so nothing the process wrote can be lost.
public enum ProgramCodeTrim {
    public struct Mapping: Sendable, Equatable {
        public var start: UInt
        public var end: UInt
    }

    /// The mappings of `smaps` (the text of `/proc/self/smaps`) that `trim` may advise: private,
    /// read-only, executable (`r-xp`), of the file `program`, with `Anonymous: 0 kB`.
    public static func mappings(smaps: String, program: String) -> [Mapping] {
        var out: [Mapping] = []
        var candidate: Mapping?
        func close() {
            if let candidate { out.append(candidate) }
            candidate = nil
        }
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            if fields.count >= 5, fields[0].contains("-"), fields[0].first?.isHexDigit == true {
                close()
                let path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
                let bounds = fields[0].split(separator: "-")
                guard fields[1] == "r-xp", path == program, bounds.count == 2,
                    let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start
                else { continue }
                candidate = Mapping(start: start, end: end)
            } else if fields.first == "Anonymous:", fields.count >= 2, fields[1] != "0" {
                candidate = nil
            }
        }
        close()
        return out
    }

    /// Seconds between trims after the first: code that ran once since the last trim (a
    /// reconnection, the first statement poll, a rare error path) would otherwise stay
    /// resident for the process's life, so the trim is repeated and what stays resident is
    /// the code of the last few minutes. A trim costs the next cycle a few hundred minor
    /// faults (well under a millisecond), once per period.
    public static let periodSeconds = 300.0

    /// True after the `run`th cycle (counted from 1) when the code is trimmed: after the
    /// second (start-up is over) and then every `periodSeconds`.
    public static func isDue(afterRun run: Int, interval: Double) -> Bool {
        guard run >= 2 else { return false }
        let period = max(1, Int((periodSeconds / max(interval, 0.001)).rounded()))
        return (run - 2) % period == 0
    }

    /// Advises the program's code pages away (see the type); returns the bytes advised, 0
    /// when `/proc` cannot be read or nothing qualifies.
    @discardableResult
    public static func trim(procFS: ProcFS = ProcFS()) -> Int {
        guard let program = programPath(procFS: procFS),
            let smaps = try? procFS.read("self/smaps")
        else { return 0 }
        var advised = 0
        for mapping in mappings(smaps: String(decoding: smaps, as: UTF8.self), program: program) {
            let length = Int(mapping.end - mapping.start)
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(address, length, MADV_DONTNEED) == 0 { advised += length }
        }
        return advised
    }

    private static func programPath(procFS: ProcFS) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(procFS.root + "/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Gives the heap's free pages back to the kernel (`malloc_trim(0)`: glibc returns the free
/// whole pages of every arena, not only the top of the heap).
///
/// Without it, glibc keeps what a burst freed: a log burst or a late cycle's larger batch
/// raised RssAnon by a step that stayed (the 45-minute soak of 2026-12-05: 5.8 → 7.5 MiB in
/// three steps, the live heap back where it was). Called once per cycle by the sampler, it
/// makes RssAnon follow the memory in use.
public enum HeapTrim {
    /// glibc's `malloc_trim` (declared in `<malloc.h>`, which the Glibc module does not
    /// export), looked up once; nil with another C library.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    /// The C library has `malloc_trim` (glibc).
    public static var available: Bool { mallocTrim != nil }

    /// True when pages were given back.
    @discardableResult
    public static func trim() -> Bool { mallocTrim?(0) == 1 }
}
