import Glibc
import MonCore

/// Opens log files for the tailer so that nothing planted in a log directory can make the
/// agent read (and ship) a file it was not asked to follow: `/run/credentials/…`, the
/// agent's own secrets, `/etc/shadow`.
///
/// - The file itself is opened with `O_NOFOLLOW`: a symbolic link is refused, also one that
///   replaces a followed file later (the tailer opens the new name the same way).
/// - Directories matched by a wildcard of the pattern are walked one by one with `openat`
///   and `O_NOFOLLOW`: a symlinked directory is refused. The literal directories of the
///   pattern (`/var/log/mnemolite` in `/var/log/mnemolite/*.log`) are the operator's
///   choice and are followed.
/// - The opened descriptor must be a regular file (`fstat`): FIFOs, devices and sockets are
///   refused (`O_NONBLOCK`, so opening a FIFO never blocks), with exactly one name (a hard
///   link to a secret file has two), owned by an allowed user when `logs.allowed_owners`
///   is set.
///
/// Checks run on the opened descriptor, so a swap between a check and the open is caught.
public struct LogFileOpener: Sendable {
    /// Why a path was not followed (the `reason` label of `mon_agent_log_files_refused_total`).
    public enum Reason: String, Sendable, CaseIterable {
        /// The path itself is a symbolic link.
        case symlink
        /// A directory the pattern's wildcard matched is a symbolic link.
        case symlinkedDirectory = "symlinked_directory"
        /// A FIFO, a device or a socket.
        case notRegular = "not_regular"
        /// The file has more than one name (a hard link).
        case hardLink = "hard_link"
        /// Owned by a user not listed in `logs.allowed_owners`.
        case owner
    }

    /// A path the tailer will not read, and why.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: Reason
        public var detail: String

        public var description: String {
            "\(LogFileOpener.printable(path)): not followed (\(reason.rawValue)): \(detail)"
        }
    }

    /// A path as it may be written to a log line: control characters escaped (`\n`, `\u{1B}`),
    /// so a file named with a newline cannot forge lines in the agent's own log.
    public static func printable(_ path: String) -> String {
        var out = ""
        for scalar in path.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == "\\" {
                out += scalar.escaped(asASCII: false)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public enum Outcome {
        /// A descriptor the caller owns, and what `fstat` said of it.
        case opened(Int32, stat)
        case refused(Refusal)
        /// Gone between listing and opening: nothing to report.
        case missing
        /// Could not be opened (permissions, I/O): errno's text.
        case failed(String)
    }

    /// `O_PATH` (Linux; Glibc's module does not export it): a descriptor to walk from, no read access.
    static let pathOnly: Int32 = 0o1000_0000

    /// uids whose files may be followed; nil = any owner (`logs.allowed_owners` unset).
    public let allowedOwners: Set<UInt32>?

    public init(allowedOwners: Set<UInt32>? = nil) {
        self.allowedOwners = allowedOwners
    }

    /// The literal directory part of a glob pattern: everything before the last `/` that
    /// precedes the first wildcard (`*`, `?`, `[`, or an escaping `\`). "" for a relative
    /// pattern whose first component has a wildcard; "/" when it is the root's child.
    public static func literalDirectory(of pattern: String) -> String {
        let wildcard = pattern.firstIndex { "*?[\\".contains($0) } ?? pattern.endIndex
        guard let slash = pattern[..<wildcard].lastIndex(of: "/") else { return "" }
        return slash == pattern.startIndex ? "/" : String(pattern[..<slash])
    }

    /// Opens `path` for reading; components below `trustedDirectory` are never followed
    /// when they are symbolic links. `trustedDirectory` must be a prefix of `path` (else
    /// only the file name is checked).
    public func open(_ path: String, trustedDirectory: String) -> Outcome {
        let (directory, components) = Self.split(path, trustedDirectory: trustedDirectory)
        guard let name = components.last else { return .missing }
        var directoryFD = Glibc.open(directory, Self.pathOnly | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { return Self.failure(errno, path) }
        for component in components.dropLast() {
            let next = openat(directoryFD, component, Self.pathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                let error = errno
                defer { close(directoryFD) }
                if Self.isSymlink(component, in: directoryFD) {
                    return .refused(
                        Refusal(
                            path: path, reason: .symlinkedDirectory,
                            detail: "the directory '\(component)' is a symbolic link"))
                }
                return Self.failure(error, path)
            }
            close(directoryFD)
            directoryFD = next
        }
        let descriptor = openat(directoryFD, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        let error = errno
        close(directoryFD)
        guard descriptor >= 0 else {
            if error == ELOOP {
                return .refused(Refusal(path: path, reason: .symlink, detail: "the file is a symbolic link"))
            }
            return Self.failure(error, path)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let failure = Self.failure(errno, path)
            close(descriptor)
            return failure
        }
        if let refusal = check(info, path: path) {
            close(descriptor)
            return .refused(refusal)
        }
        return .opened(descriptor, info)
    }

    /// The rules that apply to an opened file's `stat` (pure: unit-tested apart from I/O).
    public func check(_ info: stat, path: String) -> Refusal? {
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            return Refusal(path: path, reason: .notRegular, detail: "a \(Self.typeName(type)), not a regular file")
        }
        guard info.st_nlink <= 1 else {
            return Refusal(path: path, reason: .hardLink, detail: "the file has \(info.st_nlink) names (a hard link)")
        }
        if let allowedOwners, !allowedOwners.contains(info.st_uid) {
            return Refusal(
                path: path, reason: .owner, detail: "owned by uid \(info.st_uid), not one of logs.allowed_owners")
        }
        return nil
    }

    /// What `lstat` alone can refuse before opening (no open of a FIFO or device at all);
    /// nil for a regular file, and for a directory (never a log file, skipped quietly).
    public static func precheck(_ info: stat, path: String) -> Refusal? {
        switch info.st_mode & S_IFMT {
        case S_IFREG, S_IFDIR: return nil
        case S_IFLNK: return Refusal(path: path, reason: .symlink, detail: "the file is a symbolic link")
        case let type:
            return Refusal(path: path, reason: .notRegular, detail: "a \(typeName(type)), not a regular file")
        }
    }

    static func typeName(_ type: mode_t) -> String {
        switch type {
        case S_IFIFO: "FIFO"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFSOCK: "socket"
        case S_IFDIR: "directory"
        case S_IFLNK: "symbolic link"
        default: "special file"
        }
    }

    /// The directory opened as trusted and the components walked below it.
    static func split(_ path: String, trustedDirectory: String) -> (String, [String]) {
        var trusted = trustedDirectory
        let prefix = trusted.isEmpty ? "" : (trusted.hasSuffix("/") ? trusted : trusted + "/")
        if !path.hasPrefix(prefix) || (trusted.isEmpty && path.hasPrefix("/")) {
            // Not under it: trust the file's own directory only.
            let slash = path.lastIndex(of: "/")
            trusted = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? ""
            let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
            return (trusted.isEmpty ? "." : trusted, [name])
        }
        let rest = path.dropFirst(prefix.count)
        return (trusted.isEmpty ? "." : trusted, rest.split(separator: "/").map(String.init))
    }

    static func isSymlink(_ name: String, in directoryFD: Int32) -> Bool {
        var info = stat()
        return fstatat(directoryFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    static func failure(_ error: Int32, _ path: String) -> Outcome {
        error == ENOENT || error == ENOTDIR
            ? .missing : .failed("cannot open \(path): \(String(cString: strerror(error)))")
    }
}
