import Glibc
import NIOCore

/// The process on the other end of a Unix socket, as the kernel reports it (`SO_PEERCRED`):
/// fixed when the peer called `connect`, so it cannot be forged by what the peer sends.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String {
        "pid \(pid), uid \(uid)\(AccountNames.user(uid).map { " (\($0))" } ?? ""), gid \(gid)\(AccountNames.group(gid).map { " (\($0))" } ?? "")"
    }

    /// Reads `SO_PEERCRED` of a connected Unix stream channel; nil when the channel
    /// cannot tell (not a socket channel, or the kernel refused).
    static func of(_ channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let credentials: EventLoopFuture<KernelUcred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return credentials.map { Optional(PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid)) }
            .recover { _ in nil }
    }
}

/// `struct ucred` of <sys/socket.h>, which Swift's Glibc module hides behind `_GNU_SOURCE`:
/// three 32-bit fields, in this order, on every Linux architecture.
struct KernelUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Which local users may send batches (`ingest.allowed_users`, `ingest.allowed_groups`).
///
/// Root and the daemon's own user are always allowed. A group matches the peer's
/// effective (primary) gid, which is what `SO_PEERCRED` reports — a supplementary group
/// that only opens the socket file is not enough; name the agent's user instead.
public struct IngestAllowList: Sendable, Equatable {
    public var uids: Set<UInt32>
    public var gids: Set<UInt32>
    public var ownUID: UInt32

    public init(uids: Set<UInt32> = [], gids: Set<UInt32> = [], ownUID: UInt32 = geteuid()) {
        self.uids = uids
        self.gids = gids
        self.ownUID = ownUID
    }

    public func allows(_ peer: PeerCredentials) -> Bool {
        peer.uid == 0 || peer.uid == ownUID || uids.contains(peer.uid) || gids.contains(peer.gid)
    }

    /// User names or numeric uids; an unknown name is a configuration error naming it.
    public static func userIDs(_ entries: [String], key: String) throws -> Set<UInt32> {
        try Set(
            entries.map { entry in
                if let id = UInt32(entry) { return id }
                guard let id = AccountNames.uid(entry) else {
                    throw ConfigError(key: key, message: "no user named '\(entry)' on this host")
                }
                return id
            })
    }

    /// Group names or numeric gids; an unknown name is a configuration error naming it.
    public static func groupIDs(_ entries: [String], key: String) throws -> Set<UInt32> {
        try Set(
            entries.map { entry in
                if let id = UInt32(entry) { return id }
                guard let id = AccountNames.gid(entry) else {
                    throw ConfigError(key: key, message: "no group named '\(entry)' on this host")
                }
                return id
            })
    }
}

/// User and group lookups through NSS (`getpwnam_r` and friends).
public enum AccountNames {
    public static func uid(_ name: String) -> UInt32? {
        withPasswd(name: name, uid: 0) { $0.pw_uid }
    }

    public static func user(_ uid: UInt32) -> String? {
        withPasswd(name: nil, uid: uid) { String(cString: $0.pw_name) }
    }

    public static func gid(_ name: String) -> UInt32? {
        withGroup(name: name, gid: 0) { $0.gr_gid }
    }

    public static func group(_ gid: UInt32) -> String? {
        withGroup(name: nil, gid: gid) { String(cString: $0.gr_name) }
    }

    private static func withPasswd<T>(name: String?, uid: UInt32, _ body: (passwd) -> T) -> T? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status =
            name.map { getpwnam_r($0, &entry, &buffer, buffer.count, &result) }
            ?? getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return body(entry)
    }

    private static func withGroup<T>(name: String?, gid: UInt32, _ body: (Glibc.group) -> T) -> T? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        let status =
            name.map { getgrnam_r($0, &entry, &buffer, buffer.count, &result) }
            ?? getgrgid_r(gid, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return body(entry)
    }
}
