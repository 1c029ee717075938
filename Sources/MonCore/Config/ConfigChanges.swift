/// What a configuration reload changes, by key: the keys it applies in place and the keys
/// that only a restart applies (listen addresses, the database, socket paths…), which the
/// reload reports instead of ignoring. Values are compared, never recorded: a changed token
/// hash or password is named by its key only.
public struct ConfigChanges: Sendable, Equatable {
    /// Keys whose new value is in force after the reload, in the order compared.
    public private(set) var applied: [String] = []
    /// Keys whose new value waits for a restart (the running value is kept).
    public private(set) var needsRestart: [String] = []

    public init() {}

    public var isEmpty: Bool { applied.isEmpty && needsRestart.isEmpty }

    /// Records `key` when `old != new`: applied when `reloadable`, else needing a restart.
    /// A key already recorded is not recorded twice.
    public mutating func compare<Value: Equatable>(_ key: String, _ old: Value, _ new: Value, reloadable: Bool) {
        guard old != new else { return }
        if reloadable {
            if !applied.contains(key) { applied.append(key) }
        } else if !needsRestart.contains(key) {
            needsRestart.append(key)
        }
    }

    /// Records `key` as needing a restart when `old != new`.
    public mutating func restart<Value: Equatable>(_ key: String, _ old: Value, _ new: Value) {
        compare(key, old, new, reloadable: false)
    }

    /// Records an applied change found by other means (a certificate re-read from the same path).
    public mutating func apply(_ key: String) {
        if !applied.contains(key) { applied.append(key) }
    }
}
