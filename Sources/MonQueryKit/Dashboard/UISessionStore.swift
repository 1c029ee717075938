import MonCore
import Synchronization

/// Sessions of the dashboard's admin login, held in memory.
///
/// The cookie carries a random session id (256 bits from the system's CSPRNG, hex), never
/// the token. The store keeps only the SHA-256 of each id, so neither a memory dump nor a
/// timing difference of the dictionary lookup gives a usable id. A session ends at its
/// expiry, at logout (removed here, so a copied cookie stops working at once — what a
/// signed stateless cookie could not do without a deny list), or when the daemon restarts
/// (operators log in again). At most `maximumSessions` live at once; the oldest goes first.
public final class UISessionStore: Sendable {
    public struct Session: Sendable, Equatable {
        /// Name of the admin token that logged in (`auth.admin_tokens` `name:`), for the log.
        public var tokenName: String
        public var createdMs: Int64
        public var expiresMs: Int64
    }

    public static let maximumSessions = 1000

    /// How long a session lasts after login (`ui.session_max_age_seconds`).
    public let lifetimeSeconds: Int
    private let sessions = Mutex<[String: Session]>([:])

    public init(lifetimeSeconds: Int) { self.lifetimeSeconds = lifetimeSeconds }

    /// A new session for `tokenName`: the id to put in the cookie.
    public func create(tokenName: String, nowMs: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let id = Self.hex(bytes)
        let session = Session(
            tokenName: tokenName, createdMs: nowMs, expiresMs: nowMs + Int64(lifetimeSeconds) * 1000)
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expiresMs > nowMs }
            while sessions.count >= Self.maximumSessions,
                let oldest = sessions.min(by: { $0.value.createdMs < $1.value.createdMs })
            {
                sessions[oldest.key] = nil
            }
            sessions[Self.key(id)] = session
        }
        return id
    }

    /// The live session of this cookie value, nil when unknown, malformed or expired.
    public func session(_ id: String, nowMs: Int64) -> Session? {
        guard id.utf8.count == 64, id.utf8.allSatisfy({ Authenticator.nibble($0) != nil }) else { return nil }
        let key = Self.key(id)
        return sessions.withLock { sessions in
            guard let session = sessions[key] else { return nil }
            guard session.expiresMs > nowMs else {
                sessions[key] = nil
                return nil
            }
            return session
        }
    }

    /// Ends the session (logout); unknown ids are ignored.
    public func remove(_ id: String) {
        let key = Self.key(id)
        _ = sessions.withLock { $0.removeValue(forKey: key) }
    }

    public var count: Int { sessions.withLock { $0.count } }

    static func key(_ id: String) -> String { SHA256.hex(Array(id.utf8)) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var out = ""
        for byte in bytes {
            out.unicodeScalars.append(digits[Int(byte >> 4)])
            out.unicodeScalars.append(digits[Int(byte & 0x0F)])
        }
        return out
    }
}
