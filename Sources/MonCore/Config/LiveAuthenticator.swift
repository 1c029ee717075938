import Synchronization

/// The API's tokens as they are now: an `Authenticator` that a configuration reload replaces
/// while requests read it (each request sees the old set or the new one, never a mix).
public final class LiveAuthenticator: Sendable {
    private let state: Mutex<Authenticator>

    public init(_ authenticator: Authenticator) { state = Mutex(authenticator) }

    public var current: Authenticator { state.withLock { $0 } }

    public func replace(_ authenticator: Authenticator) { state.withLock { $0 = authenticator } }
}

extension Authenticator: Equatable {
    /// Same tokens (names, roles and hashes) in the same order.
    public static func == (lhs: Authenticator, rhs: Authenticator) -> Bool {
        lhs.tokens.count == rhs.tokens.count
            && zip(lhs.tokens, rhs.tokens).allSatisfy { $0.name == $1.name && $0.role == $1.role && $0.hash == $1.hash }
    }
}
