import Foundation

/// `Tests/Fixtures`, shared by every test target: verbatim captures of `/proc`, Redis and
/// PostgreSQL replies, golden `/metrics` expositions, the real FastAPI application.
///
/// Found from this file's path (the tests run from the checkout they were built from), so no
/// target carries a copy of the files as resources.
public enum Fixtures {
    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "fixture not found: Tests/Fixtures/\(path)" }
    }

    /// `Tests/Fixtures`.
    public static let directory = Repository.root.appendingPathComponent("Tests/Fixtures")

    /// The bytes of `Tests/Fixtures/<path>`.
    public static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(path).path) else {
            throw Missing(path: path)
        }
        return [UInt8](data)
    }

    /// The text of `Tests/Fixtures/<path>`, decoded as UTF-8.
    public static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }
}

/// The checkout the tests were built from.
public enum Repository {
    /// The repository root (the directory holding `Package.swift`).
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shipped example configuration, `config/`.
    public static let configDirectory = root.appendingPathComponent("config")
}

/// A file under the temporary directory (in a directory of its own), removed by `remove()`.
public struct TempFile {
    public let path: String

    public init(_ contents: String, name: String = "config.yaml") throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("montest-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent(name).path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}
