import Foundation
import Yams

/// Configuration values from a YAML file overridden by environment variables.
///
/// Every scalar key `a.b_c` can be set by `<PREFIX>_A_B_C` (the systemd and container
/// convention). Typed getters name the key, the source (file:line or variable) and the
/// reason when a value is wrong; `finish()` rejects keys nobody asked for (typos).
public final class ConfigSource {
    public struct Value {
        public var text: String
        /// `monagent.yaml:12` or `env MONAGENT_INTERVAL`.
        public var origin: String
    }

    private var scalars: [String: Value] = [:]
    private var sequences: [String: (node: Node, origin: String)] = [:]
    private var consumed: Set<String> = []
    private let environment: [String: String]
    public let envPrefix: String
    public let file: String?

    /// Loads `path` (nil: no file, defaults only). A missing file given explicitly is an error.
    public init(path: String?, envPrefix: String, environment: [String: String]) throws {
        self.envPrefix = envPrefix
        self.environment = environment
        self.file = path
        guard let path else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: path, message: "cannot read configuration file")
        }
        let name = (path as NSString).lastPathComponent
        let node: Node?
        do {
            node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw ConfigError(key: path, message: "not valid YAML: \(error)")
        }
        guard let node else { return }
        guard case .mapping = node else {
            throw ConfigError(key: path, message: "the top level must be a mapping of keys")
        }
        try flatten(node, prefix: "", file: name)
    }

    /// Builds a source from in-memory YAML (tests, `check-config` on stdin).
    public init(yaml: String, envPrefix: String, environment: [String: String]) throws {
        self.envPrefix = envPrefix
        self.environment = environment
        self.file = nil
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(key: "<yaml>", message: "not valid YAML: \(error)")
        }
        if let node { try flatten(node, prefix: "", file: "<yaml>") }
    }

    private func flatten(_ node: Node, prefix: String, file: String) throws {
        let origin = "\(file):\((node.mark?.line).map(String.init) ?? "?")"
        switch node {
        case .mapping(let mapping):
            for (keyNode, valueNode) in mapping {
                guard let key = keyNode.string else {
                    throw ConfigError(key: prefix, message: "non-string key at \(origin)")
                }
                try flatten(valueNode, prefix: prefix.isEmpty ? key : "\(prefix).\(key)", file: file)
            }
        case .sequence:
            sequences[prefix] = (node, origin)
        case .scalar(let scalar):
            if scalar.string == "~" || (scalar.string.isEmpty && scalar.style == .plain) { return }
            scalars[prefix] = Value(text: scalar.string, origin: origin)
        case .alias:
            throw ConfigError(key: prefix, message: "YAML aliases are not supported (\(origin))")
        }
    }

    /// `ingest.socket` → `MONAGENT_INGEST_SOCKET`.
    public func environmentName(_ key: String) -> String {
        envPrefix + "_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The raw value for `key`: environment first, then file.
    public func value(_ key: String) -> Value? {
        consumed.insert(key)
        let variable = environmentName(key)
        if let text = environment[variable] { return Value(text: text, origin: "env \(variable)") }
        return scalars[key]
    }

    public func string(_ key: String, default defaultValue: String) -> String {
        value(key)?.text ?? defaultValue
    }

    public func optionalString(_ key: String) -> String? {
        guard let text = value(key)?.text, !text.isEmpty else { return nil }
        return text
    }

    public func double(_ key: String, default defaultValue: Double, range: ClosedRange<Double>) throws -> Double {
        guard let value = value(key) else { return defaultValue }
        guard let number = Double(value.text.trimmingCharacters(in: .whitespaces)), number.isFinite else {
            throw ConfigError(key: key, message: "'\(value.text)' is not a number (\(value.origin))")
        }
        guard range.contains(number) else {
            throw ConfigError(
                key: key,
                message: "\(value.text) is out of range \(range.lowerBound)...\(range.upperBound) (\(value.origin))"
            )
        }
        return number
    }

    public func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let value = value(key) else { return defaultValue }
        guard let number = Int(value.text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigError(key: key, message: "'\(value.text)' is not an integer (\(value.origin))")
        }
        guard range.contains(number) else {
            throw ConfigError(
                key: key,
                message: "\(number) is out of range \(range.lowerBound)...\(range.upperBound) (\(value.origin))"
            )
        }
        return number
    }

    /// One of an enumeration's raw values; the error lists them and names where the value came from.
    public func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: Choice) throws
        -> Choice
    where Choice.RawValue == String {
        guard let value = value(key) else { return defaultValue }
        guard let choice = Choice(rawValue: value.text.trimmingCharacters(in: .whitespaces)) else {
            let names = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(key: key, message: "'\(value.text.prefix(80))' is not one of \(names) (\(value.origin))")
        }
        return choice
    }

    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let value = value(key) else { return defaultValue }
        switch value.text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError(key: key, message: "'\(value.text)' is not true or false (\(value.origin))")
        }
    }

    /// A list of strings: a YAML sequence, or a comma-separated environment variable
    /// (`alias` is a second, documented variable name, e.g. `MONAGENT_LOG_PATHS`).
    public func stringList(_ key: String, default defaultValue: [String], alias: String? = nil) throws -> [String] {
        consumed.insert(key)
        let variable = environmentName(key)
        if let text = environment[variable] ?? alias.flatMap({ environment[$0] }) {
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let scalar = scalars[key] {
            throw ConfigError(key: key, message: "expected a list, got '\(scalar.text)' (\(scalar.origin))")
        }
        guard let (node, origin) = sequences[key], case .sequence(let sequence) = node else { return defaultValue }
        return try sequence.map { item in
            guard let text = item.string else {
                throw ConfigError(key: key, message: "list items must be strings (\(origin))")
            }
            return text
        }
    }

    /// The raw YAML list under `key` and its origin (`file:line`), for structured lists
    /// parsed elsewhere (alert rules). Nil when absent.
    public func sequenceNode(_ key: String) -> (node: Node, origin: String)? {
        consumed.insert(key)
        return sequences[key]
    }

    /// A list of mappings with string or string-list values (process groups, cache types).
    public func mappingList(_ key: String) throws -> [[String: [String]]]? {
        consumed.insert(key)
        if let scalar = scalars[key] {
            throw ConfigError(key: key, message: "expected a list of mappings, got '\(scalar.text)' (\(scalar.origin))")
        }
        guard let (node, origin) = sequences[key], case .sequence(let sequence) = node else { return nil }
        return try sequence.map { item in
            guard case .mapping(let mapping) = item else {
                throw ConfigError(key: key, message: "each item must be a mapping (\(origin))")
            }
            var out: [String: [String]] = [:]
            for (keyNode, valueNode) in mapping {
                guard let name = keyNode.string else { continue }
                switch valueNode {
                case .scalar(let scalar): out[name] = [scalar.string]
                case .sequence(let list): out[name] = list.compactMap(\.string)
                default: throw ConfigError(key: "\(key).\(name)", message: "expected a string or a list (\(origin))")
                }
            }
            return out
        }
    }

    /// Every key of the file with its value in force (a variable overriding it wins; a list as
    /// YAML text), for telling which keys a reload changes; never logged (values may be secrets).
    public var fileValues: [String: String] {
        var values: [String: String] = [:]
        for (key, value) in scalars { values[key] = environment[environmentName(key)] ?? value.text }
        for (key, entry) in sequences {
            values[key] = environment[environmentName(key)] ?? (try? Yams.serialize(node: entry.node)) ?? entry.origin
        }
        return values
    }

    /// Throws on keys present in the file that no getter asked for.
    public func finish() throws {
        let unknown = Set(scalars.keys).union(sequences.keys).subtracting(consumed).sorted()
        if let first = unknown.first {
            let origin = scalars[first]?.origin ?? sequences[first]?.origin ?? "?"
            throw ConfigError(
                key: first, message: "unknown key (\(origin)); check the spelling against the documentation")
        }
    }

    /// Reads a secret file (trailing newline removed), naming the key on failure.
    public func secretFile(_ key: String) throws -> String? {
        guard let path = optionalString(key) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: key, message: "cannot read secret file \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
}
