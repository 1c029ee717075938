import Foundation

/// This machine's host name.
public enum HostName {
    public static func current() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// Validates swift-log level names.
public enum LogLevelName {
    public static let all = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public static func validate(_ name: String, key: String) throws -> String {
        guard all.contains(name) else {
            throw ConfigError(
                key: key, message: "'\(name)' is not a log level; use one of \(all.joined(separator: ", "))")
        }
        return name
    }
}
