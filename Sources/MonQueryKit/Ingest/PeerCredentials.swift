import Glibc
import MonCore
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

/// Which local users may send batches (`ingest.allowed_users`, `ingest.allowed_groups`),
/// and which hosts each may write.
///
/// Root and the daemon's own user are always allowed, for any host (they can reach the
/// database anyway). A listed user or group may write the hosts of its `hosts=` option,
/// by default only this machine's host name. A group matches the peer's effective
/// (primary) gid, which is what `SO_PEERCRED` reports — a supplementary group that only
/// opens the socket file is not enough; name the agent's user instead.
public struct IngestAllowList: Sendable, Equatable {
    /// Listed users (uid) and the hosts each may write.
    public var users: [UInt32: HostScope]
    /// Listed groups (gid) and the hosts their members may write.
    public var groups: [UInt32: HostScope]
    public var ownUID: UInt32

    public init(users: [UInt32: HostScope], groups: [UInt32: HostScope], ownUID: UInt32 = geteuid()) {
        self.users = users
        self.groups = groups
        self.ownUID = ownUID
    }

    /// Users and groups limited to `localHost` (default: this machine's host name).
    public init(
        uids: Set<UInt32> = [], gids: Set<UInt32> = [], ownUID: UInt32 = geteuid(),
        localHost: String = HostName.current()
    ) {
        self.init(
            users: Dictionary(uniqueKeysWithValues: uids.map { ($0, .only([localHost])) }),
            groups: Dictionary(uniqueKeysWithValues: gids.map { ($0, .only([localHost])) }), ownUID: ownUID)
    }

    public var uids: Set<UInt32> { Set(users.keys) }
    public var gids: Set<UInt32> { Set(groups.keys) }

    public func allows(_ peer: PeerCredentials) -> Bool { scope(for: peer) != nil }

    /// The hosts `peer` may write; nil when it may not connect at all.
    public func scope(for peer: PeerCredentials) -> HostScope? {
        if peer.uid == 0 || peer.uid == ownUID { return .any }
        switch (users[peer.uid], groups[peer.gid]) {
        case (let user?, let group?): return user.union(group)
        case (let user?, nil): return user
        case (nil, let group?): return group
        case (nil, nil): return nil
        }
    }

    /// `ingest.allowed_users`: user names or uids, each optionally `:hosts=a|b` (or `:hosts=*`);
    /// without it, `localHost`. An unknown name or a bad option is an error naming the entry.
    public static func users(_ entries: [String], key: String, localHost: String) throws -> [UInt32: HostScope] {
        try scopes(entries, key: key, localHost: localHost) { try userIDs([$0], key: $1).first! }
    }

    /// `ingest.allowed_groups`, as `users`.
    public static func groups(_ entries: [String], key: String, localHost: String) throws -> [UInt32: HostScope] {
        try scopes(entries, key: key, localHost: localHost) { try groupIDs([$0], key: $1).first! }
    }

    private static func scopes(
        _ entries: [String], key: String, localHost: String, _ id: (String, String) throws -> UInt32
    ) throws -> [UInt32: HostScope] {
        var result: [UInt32: HostScope] = [:]
        for (index, entry) in entries.enumerated() {
            let entryKey = "\(key)[\(index)]"
            let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let scope = try parts.count == 2 ? HostScope.parse(option: parts[1], key: entryKey) : .only([localHost])
            let uid = try id(String(parts[0]), entryKey)
            result[uid] = result[uid].map { $0.union(scope) } ?? scope
        }
        return result
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
