import Foundation
import Testing

@testable import MonAgentKit
@testable import MonCore
@testable import MonQueryKit

/// Access to `Fixtures/proc`: verbatim captures, and a fake procfs root under `root/`.
enum ProcFixtures {
    struct MissingFixture: Error, CustomStringConvertible {
        var path: String
        var description: String { "fixture not found: Fixtures/proc/\(path)" }
    }

    /// `Fixtures/proc` in the test bundle.
    static func directory() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw MissingFixture(path: "")
        }
        return url.appendingPathComponent("proc")
    }

    /// Bytes of `Fixtures/proc/<path>`.
    static func bytes(_ path: String) throws -> [UInt8] {
        let url = try directory().appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw MissingFixture(path: path) }
        return [UInt8](data)
    }

    /// A `ProcFS` over the read-only fixture root.
    static func root() throws -> ProcFS {
        ProcFS(root: try directory().appendingPathComponent("root").path)
    }

    /// Copies the fixture root to a fresh temporary directory the test may rewrite.
    static func writableRoot() throws -> WritableRoot {
        let destination = FileManager.default.temporaryDirectory
            .appendingPathComponent("monproc-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.copyItem(at: try directory().appendingPathComponent("root"), to: destination)
        return WritableRoot(url: destination)
    }
}

/// A temporary copy of the fixture root; `remove()` deletes it.
struct WritableRoot {
    let url: URL

    var procFS: ProcFS { ProcFS(root: url.path) }

    func write(_ relativePath: String, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(relativePath))
    }

    /// Adds `/proc/<pid>` with `stat`, an empty `cmdline` and an empty `fd` directory.
    func makeProcess(_ pid: Int, stat: String, cmdline: String = "") throws {
        let directory = url.appendingPathComponent(String(pid))
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("fd"), withIntermediateDirectories: true)
        try write("\(pid)/stat", stat)
        try write("\(pid)/cmdline", cmdline)
    }

    func delete(_ relativePath: String) throws {
        try FileManager.default.removeItem(at: url.appendingPathComponent(relativePath))
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

extension Array where Element == Sample {
    /// The value of the one sample named `name` with exactly `labels`, nil if absent.
    func value(_ name: String, _ labels: Labels = Labels()) -> Double? {
        first { $0.name == name && $0.labels == labels }?.value
    }

    func named(_ name: String) -> [Sample] { filter { $0.name == name } }
}
