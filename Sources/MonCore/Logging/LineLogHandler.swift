import Foundation
import Logging
import Synchronization

/// The log handler of both programs: one line per event on standard error, logfmt or JSON
/// (`log.format`), the priority prefix and no timestamp when the journal is connected
/// (`JournalStream`), the level read from a shared `LogLevelControl`.
///
/// Secrets are kept out where they are known (`SecretRedaction` at the call sites that
/// log URLs, errors and tokens); this handler adds none and removes none.
public struct LineLogHandler: LogHandler {
    public typealias Sink = @Sendable (String) -> Void

    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let formatter: LogLineFormatter
    private let control: LogLevelControl
    private let sink: Sink
    private let clock: @Sendable () -> Int64
    /// Set by `logger.logLevel = …` on this one value; nil follows the control.
    private var ownLevel: Logger.Level?

    public init(
        label: String, formatter: LogLineFormatter, control: LogLevelControl,
        metadataProvider: Logger.MetadataProvider? = nil, sink: @escaping Sink = StandardError.write,
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMs
    ) {
        self.label = label
        self.formatter = formatter
        self.control = control
        self.metadataProvider = metadataProvider
        self.sink = sink
        self.clock = clock
    }

    public var logLevel: Logger.Level {
        get { ownLevel ?? control.level }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        sink(
            formatter.line(
                level: event.level, label: label, message: event.message.description, metadata: merged,
                timeMs: clock()))
    }

    /// Installs this handler for every `Logger` of the process (once, at start) and sets the
    /// shared control to `settings.level`. Returns the control (`LogLevelControl.shared`).
    @discardableResult
    public static func bootstrap(
        _ settings: LogSettings, environment: [String: String], control: LogLevelControl = .shared
    ) -> LogLevelControl {
        control.set(settings.level)
        let formatter = LogLineFormatter(
            format: settings.format, journal: JournalStream.isConnected(environment: environment, descriptor: 2))
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, formatter: formatter, control: control) }
        return control
    }

    /// Writes why the program stops (`Error: …`; nothing for an empty text) to standard error, each line with the
    /// error priority `<3>` when the journal is connected, so `journalctl -p err` shows a
    /// failed start too (ArgumentParser would print it at the journal's default, info).
    public static func writeFailure(_ text: String, environment: [String: String]) {
        let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
        guard !body.isEmpty else { return }
        StandardError.write(
            JournalStream.isConnected(environment: environment, descriptor: 2)
                ? LogLineFormatter.journalLines(body, priority: 3) : body + "\n")
    }

    /// Whole lines to standard error, one `write(2)` each where the kernel allows, never two
    /// lines interleaved.
    public enum StandardError {
        private static let lock = Mutex(())

        public static func write(_ line: String) {
            var line = line
            lock.withLock { _ in
                line.withUTF8 { buffer in
                    guard let base = buffer.baseAddress else { return }
                    var offset = 0
                    while offset < buffer.count {
                        let written = Foundation.write(2, base + offset, buffer.count - offset)
                        if written > 0 {
                            offset += written
                        } else if written < 0, errno == EINTR {
                            continue
                        } else {
                            return
                        }
                    }
                }
            }
        }
    }
}
