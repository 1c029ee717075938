/// A /proc file did not have the shape its parser expects.
///
/// Names the file kind (`/proc/stat`), the 1-based line (0 when the whole file is at
/// fault, e.g. empty) and the reason, so a kernel format change is easy to locate.
public struct ProcParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of failure, independent of the file.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case empty
            case truncated
            case malformed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file had no content where content is required.
        public static let empty = Code(.empty)
        /// A required line or field is missing.
        public static let truncated = Code(.truncated)
        /// A field is present but is not what it should be (not a number, bad token).
        public static let malformed = Code(.malformed)

        public var description: String {
            switch base {
            case .empty: return "empty"
            case .truncated: return "truncated"
            case .malformed: return "malformed"
            }
        }
    }

    public var code: Code
    /// The kind of file, as a path pattern: `/proc/stat`, `/proc/[pid]/stat`.
    public var file: String
    /// 1-based line number, 0 for the file as a whole.
    public var line: Int
    public var reason: String

    public init(_ code: Code, file: String, line: Int, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        line > 0 ? "\(file) line \(line): \(code): \(reason)" : "\(file): \(code): \(reason)"
    }
}
