import Foundation
import MonCore

/// Access to `Fixtures/proc`: verbatim captures, and a fake procfs root under `root/`.
public enum ProcFixtures {
    public struct MissingFixture: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "fixture not found: Fixtures/proc/\(path)" }
    }

    /// `Tests/Fixtures/proc`.
    public static func directory() throws -> URL { Fixtures.directory.appendingPathComponent("proc") }

    /// Bytes of `Fixtures/proc/<path>`.
    public static func bytes(_ path: String) throws -> [UInt8] {
        let url = try directory().appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw MissingFixture(path: path) }
        return [UInt8](data)
    }

    /// A `ProcFS` over the read-only fixture root.
    public static func root() throws -> ProcFS {
        ProcFS(root: try directory().appendingPathComponent("root").path)
    }

    /// Copies the fixture root to a fresh temporary directory the test may rewrite.
    public static func writableRoot() throws -> WritableRoot {
        let destination = FileManager.default.temporaryDirectory
            .appendingPathComponent("monproc-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.copyItem(at: try directory().appendingPathComponent("root"), to: destination)
        return WritableRoot(url: destination)
    }
}

/// A temporary copy of the fixture root; `remove()` deletes it.
public struct WritableRoot {
    public let url: URL

    public var procFS: ProcFS { ProcFS(root: url.path) }

    public func write(_ relativePath: String, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(relativePath))
    }

    /// Adds `/proc/<pid>` with `stat`, an empty `cmdline` and an empty `fd` directory.
    public func makeProcess(_ pid: Int, stat: String, cmdline: String = "") throws {
        let directory = url.appendingPathComponent(String(pid))
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("fd"), withIntermediateDirectories: true)
        try write("\(pid)/stat", stat)
        try write("\(pid)/cmdline", cmdline)
    }

    public func delete(_ relativePath: String) throws {
        try FileManager.default.removeItem(at: url.appendingPathComponent(relativePath))
    }

    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

extension Array where Element == Sample {
    /// The value of the one sample named `name` with exactly `labels`, nil if absent.
    public func value(_ name: String, _ labels: Labels = Labels()) -> Double? {
        first { $0.name == name && $0.labels == labels }?.value
    }

    public func named(_ name: String) -> [Sample] { filter { $0.name == name } }
}
