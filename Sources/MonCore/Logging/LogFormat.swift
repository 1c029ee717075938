import Logging

/// How a log line is written: `logfmt` (`key=value` pairs) or `json` (one object per line).
public enum LogFormat: String, CaseIterable, Sendable {
    case logfmt
    case json
}

/// The `log:` section both programs read (`log.level`, `log.format`).
public struct LogSettings: Sendable, Equatable {
    /// `log.level`: the lowest level written (default `info`); changed at run time through
    /// `LogLevelControl`. The older top-level key `log_level` is still read when `log.level` is absent.
    public var level: Logger.Level
    /// `log.format`: `logfmt` (default) or `json`. Under systemd (`JOURNAL_STREAM` names the
    /// standard error) either one is prefixed with the priority (`<3>`) and has no timestamp.
    public var format: LogFormat

    public init(level: Logger.Level = .info, format: LogFormat = .logfmt) {
        self.level = level
        self.format = format
    }

    /// Reads `log.level` (or the legacy `log_level`) and `log.format`; a bad value is a
    /// `ConfigError` naming the key (the programs exit 78).
    public init(source: ConfigSource) throws {
        let legacy = source.value("log_level")
        let key = source.value("log.level") == nil && legacy != nil ? "log_level" : "log.level"
        self.init(
            level: try source.choice(key, default: Logger.Level.info),
            format: try source.choice("log.format", default: LogFormat.logfmt))
    }
}
