import Logging
import Synchronization

/// The process's log level, changeable at run time from any thread (SIGHUP reload).
///
/// Every `Logger` made after `LineLogHandler.bootstrap` reads its level here on each call
/// (one atomic load), so `LogLevelControl.shared.set(.debug)` takes effect at once for every
/// logger of the process, including those already made. A `logger.logLevel = …` on one
/// `Logger` value still overrides it for that value only (swift-log's value semantics).
public final class LogLevelControl: Sendable {
    /// The control that `LineLogHandler.bootstrap` installs.
    public static let shared = LogLevelControl()

    private let raw: Atomic<UInt8>

    public init(_ level: Logger.Level = .info) {
        raw = Atomic(Self.code(level))
    }

    /// The current level.
    public var level: Logger.Level {
        let code = raw.load(ordering: .relaxed)
        return Logger.Level.allCases[Int(min(code, UInt8(Logger.Level.allCases.count - 1)))]
    }

    /// Sets the level for every logger of the process; returns the previous one.
    @discardableResult
    public func set(_ level: Logger.Level) -> Logger.Level {
        let previous = raw.exchange(Self.code(level), ordering: .relaxed)
        return Logger.Level.allCases[Int(previous)]
    }

    private static func code(_ level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 2)
    }
}
