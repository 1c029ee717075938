import Logging

/// Turns one log event into one line: logfmt or JSON, with the sd-daemon priority prefix
/// (`<3>`) and without a timestamp when the journal receives it (it stamps every line itself).
///
/// Pure and deterministic (the time is an argument), so the tests pin the exact bytes.
/// Metadata keys are written in sorted order; a value can never end the line early (newlines
/// and other control characters are escaped) or be taken for another pair (logfmt quotes a
/// value with a space, `=`, `"`, `\` or nothing in it).
public struct LogLineFormatter: Sendable {
    public var format: LogFormat
    /// True under systemd's journal: `<N>` prefix, no `time`.
    public var journal: Bool

    public init(format: LogFormat, journal: Bool) {
        self.format = format
        self.journal = journal
    }

    /// The syslog priority of a level as sd-daemon(3) prefixes it: trace and debug 7, info 6,
    /// notice 5, warning 4, error 3, critical 2.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The line for one event, ending with `\n`.
    public func line(
        level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, timeMs: Int64
    ) -> String {
        var out = journal ? "<\(Self.priority(level))>" : ""
        let time = journal ? nil : Self.rfc3339(ms: timeMs)
        switch format {
        case .logfmt:
            if let time { out += "time=\(time) " }
            out += "level=\(level.rawValue) label="
            Self.appendLogfmtValue(label, to: &out)
            out += " msg="
            Self.appendLogfmtValue(message, to: &out)
            for key in metadata.keys.sorted() {
                out += " "
                Self.appendLogfmtKey(key, to: &out)
                out += "="
                Self.appendLogfmtValue(Self.text(metadata[key]!), to: &out)
            }
        case .json:
            var fields: [(String, JSONValue)] = []
            if let time { fields.append(("time", .string(time))) }
            fields.append(("level", .string(level.rawValue)))
            fields.append(("label", .string(label)))
            fields.append(("message", .string(message)))
            if !metadata.isEmpty { fields.append(("metadata", Self.json(.dictionary(metadata)))) }
            JSONValue.object(fields).write(to: &out)
        }
        out += "\n"
        return out
    }

    /// A multi-line text for the journal: every line prefixed with `<priority>`, so each
    /// journal entry it becomes keeps the priority (`Error: …` of a failed start is `<3>`).
    public static func journalLines(_ text: String, priority: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "<\(priority)>\($0)\n" }.joined()
    }

    /// `2026-12-05T16:40:00.120Z`: UTC, always three fraction digits.
    public static func rfc3339(ms: Int64) -> String {
        let text = Timestamp.iso8601(ms: ms - ms % 1000)
        let millis = Int(ms % 1000)
        let digits = String(millis)
        return text.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// A metadata value as one string: arrays `[a, b]`, dictionaries `[k: v]` (sorted).
    static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(text).joined(separator: ", ") + "]"
        case .dictionary(let pairs):
            "[" + pairs.keys.sorted().map { "\($0): \(text(pairs[$0]!))" }.joined(separator: ", ") + "]"
        }
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let string): .string(string)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let pairs): .object(pairs.keys.sorted().map { ($0, json(pairs[$0]!)) })
        }
    }

    /// A logfmt key: letters, digits, `_`, `.` and `-` kept, anything else `_`; never empty.
    static func appendLogfmtKey(_ key: String, to out: inout String) {
        guard !key.isEmpty else {
            out += "_"
            return
        }
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": out.unicodeScalars.append(scalar)
            default: out += "_"
            }
        }
    }

    /// A logfmt value, bare when it can be, else double-quoted with `"`, `\` and control
    /// characters escaped as in JSON (`\n`, `\t`, `\u001b`), which logfmt readers accept.
    static func appendLogfmtValue(_ value: String, to out: inout String) {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0.value <= 0x20 || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value == 0x7F
            }
        guard needsQuotes else {
            out += value
            return
        }
        JSONValue.writeString(value, to: &out)
    }
}
