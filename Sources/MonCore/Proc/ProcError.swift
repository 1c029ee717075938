/// A /proc (or /sys) file or directory could not be read.
///
/// Carries the path at fault and the `errno` the kernel returned, so the log line
/// says which file to look at ("permission denied: /proc/123/fd").
public struct ProcError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, independent of the path.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case notFound
            case permissionDenied
            case notSupported
            case tooLarge
            case ioError
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file or directory does not exist (or the process it belonged to exited).
        public static let notFound = Code(.notFound)
        /// The agent may not read it (another user's `/proc/[pid]/fd`).
        public static let permissionDenied = Code(.permissionDenied)
        /// The kernel refuses the read (`/proc/pressure/*` with `psi=0`).
        public static let notSupported = Code(.notSupported)
        /// The file is larger than a /proc file has any reason to be.
        public static let tooLarge = Code(.tooLarge)
        /// Any other failure of open, read or readdir.
        public static let ioError = Code(.ioError)

        public var description: String {
            switch base {
            case .notFound: return "not found"
            case .permissionDenied: return "permission denied"
            case .notSupported: return "not supported"
            case .tooLarge: return "too large"
            case .ioError: return "I/O error"
            }
        }
    }

    public var code: Code
    /// The full path that failed, root included.
    public var path: String
    /// The `errno` of the failed call, 0 when not from a system call.
    public var errno: Int32
    /// Human message naming the file, e.g. `cannot read /proc/stat: permission denied (errno 13)`.
    public var message: String

    public init(code: Code, path: String, errno: Int32, message: String) {
        self.code = code
        self.path = path
        self.errno = errno
        self.message = message
    }

    public var description: String { message }
}
