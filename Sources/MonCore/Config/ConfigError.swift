/// A configuration problem, naming the key and where its value came from.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// Dotted key (`ingest.socket`), or the file when the file itself is at fault.
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "configuration key '\(key)': \(message)" }

    /// The exit status of a program stopped by a bad configuration: `EX_CONFIG` (sysexits.h).
    /// Both systemd units list it in `RestartPreventExitStatus=`, so systemd stops there
    /// instead of restarting the program every few seconds into the same error.
    public static let exitStatus: Int32 = 78
}
