import Foundation
import MonCore
import Yams

/// One `export.remote_write` destination: a Prometheus remote-write 1.0 receiver (Prometheus
/// with `--web.enable-remote-write-receiver`, Mimir, Thanos Receive, VictoriaMetrics) that
/// gets every stored sample (README "Scaling beyond one database").
public struct RemoteWriteSettings: Sendable, Equatable {
    /// `name` (default: the URL's host and port): the `destination` label on `/metrics` and
    /// the key of the destination's cursor in PostgreSQL (renaming one starts it afresh).
    public var name: String
    /// `url`: the receiver's write endpoint (`http://127.0.0.1:9090/api/v1/write`).
    public var url: URL
    /// `headers`: extra request headers (`X-Scope-OrgID: fleet` for Mimir), never logged.
    public var headers: [String: String]
    /// `bearer_token_file`, or `basic_auth.username` with `basic_auth.password_file`.
    public var auth: NotifierAuth
    /// `tls.*` (ca_file, certificate_file, key_file, server_name, insecure_skip_verify).
    public var tls: TLSClientSettings
    /// `timeout_seconds` (default 30): one request's limit.
    public var timeoutSeconds: Double
    /// `queue.max_samples_per_send` (default 2000): samples per request at most.
    public var maxSamplesPerSend: Int
    /// `queue.max_shards` (default 4): requests in flight at once; a series always goes to
    /// the same shard, so its samples arrive in order. With 1 (the default before issue 23's
    /// benchmark) the exporter waited on each request in turn; with 4 shards and a capacity
    /// of 50 000, 87 000 samples/s to a local Prometheus (BENCHMARKS.md).
    public var maxShards: Int
    /// `queue.capacity` (default 50000): samples read from PostgreSQL ahead of sending (the
    /// cursor moves once all of them are sent or dropped); the next pass is read while these
    /// are sent, so at most twice this many are in memory.
    public var capacity: Int
    /// `queue.min_backoff_seconds` (0.1) and `queue.max_backoff_seconds` (30): retries of a
    /// 5xx, 429 or connection failure wait from the first to the second, doubling.
    public var minBackoffSeconds: Double
    public var maxBackoffSeconds: Double
    /// `write_relabel.keep` / `write_relabel.drop`: regular expressions matched against the
    /// whole metric name (as Prometheus anchors them); nil: every name.
    public var keep: String?
    public var drop: String?

    /// Headers the exporter sets itself.
    static let reservedHeaders: Set<String> = [
        "authorization", "content-type", "content-encoding", "content-length", "host", "connection",
        "x-prometheus-remote-write-version", "user-agent",
    ]

    /// Every `export.remote_write` item; errors name `export.remote_write[i].<key>`.
    public static func load(_ source: ConfigSource) throws -> [RemoteWriteSettings] {
        let key = "export.remote_write"
        if let text = source.value(key)?.text {
            throw ConfigError(key: key, message: "expected a list of destinations, got '\(text.prefix(80))'")
        }
        guard let (node, origin) = source.sequenceNode(key), case .sequence(let items) = node else { return [] }
        var out: [RemoteWriteSettings] = []
        for (index, item) in items.enumerated() {
            let prefix = "\(key)[\(index)]"
            guard case .mapping = item else {
                throw ConfigError(key: prefix, message: "each destination must be a mapping (\(origin))")
            }
            let yaml: String
            do { yaml = try Yams.serialize(node: item) } catch {
                throw ConfigError(key: prefix, message: "cannot be read (\(origin))")
            }
            do {
                let itemSource = try ConfigSource(yaml: yaml, envPrefix: "MONQUERY_REMOTE_WRITE_ITEM", environment: [:])
                let settings = try RemoteWriteSettings(itemSource, prefix: prefix)
                try itemSource.finish()
                out.append(settings)
            } catch let error as ConfigError {
                throw ConfigError(key: "\(prefix).\(error.key)", message: "\(error.message) (\(origin))")
            }
        }
        var names: Set<String> = []
        for (index, settings) in out.enumerated() where !names.insert(settings.name).inserted {
            throw ConfigError(
                key: "\(key)[\(index)].name",
                message: "'\(settings.name)' names two destinations: give each its own name")
        }
        return out
    }

    /// One destination from its own mapping (keys relative to it).
    init(_ source: ConfigSource, prefix: String) throws {
        guard let text = source.optionalString("url") else {
            throw ConfigError(key: "url", message: "is required (the receiver's write endpoint)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty,
            let url = components.url
        else {
            throw ConfigError(
                key: "url", message: "'\(SecretRedaction.redactURL(text).prefix(80))' is not an http(s) URL")
        }
        guard components.user == nil, components.password == nil else {
            throw ConfigError(key: "url", message: "credentials in the URL would show in logs: use basic_auth")
        }
        self.url = url
        let defaultName = components.port.map { "\(host):\($0)" } ?? host
        name = source.string("name", default: defaultName)
        guard !name.isEmpty, name.count <= 64,
            name.unicodeScalars.allSatisfy({
                CharacterSet.alphanumerics.contains($0) || "_.:-".unicodeScalars.contains($0)
            })
        else {
            throw ConfigError(
                key: "name", message: "'\(name.prefix(80))' must be 1-64 letters, digits, '_', '.', ':' or '-'")
        }
        var headers: [String: String] = [:]
        for header in source.fileValues.keys.filter({ $0.hasPrefix("headers.") }).sorted() {
            let field = String(header.dropFirst("headers.".count))
            guard !field.isEmpty, field.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                throw ConfigError(key: header, message: "is not a valid header name")
            }
            guard !Self.reservedHeaders.contains(field.lowercased()) else {
                throw ConfigError(
                    key: header,
                    message: "is set by monquery itself (use bearer_token_file or basic_auth for Authorization)")
            }
            let value = source.string(header, default: "")
            guard !value.contains(where: { $0.isNewline }) else {
                throw ConfigError(key: header, message: "holds a line break")
            }
            headers[field] = value
        }
        self.headers = headers
        auth = try NotifierAuth.load(source, bearerKey: "bearer_token_file", basicKey: "basic_auth")
        var tls = try TLSClientSettings.load(source, prefix: "tls")
        tls.prefix = "\(prefix).tls"
        self.tls = tls
        timeoutSeconds = try source.double("timeout_seconds", default: 30, range: 0.1...600)
        maxSamplesPerSend = try source.int("queue.max_samples_per_send", default: 2000, range: 1...1_000_000)
        maxShards = try source.int("queue.max_shards", default: 4, range: 1...64)
        capacity = try source.int("queue.capacity", default: 50_000, range: 1...10_000_000)
        minBackoffSeconds = try source.double("queue.min_backoff_seconds", default: 0.1, range: 0.001...60)
        maxBackoffSeconds = try source.double("queue.max_backoff_seconds", default: 30, range: 0.001...3600)
        guard maxBackoffSeconds >= minBackoffSeconds else {
            throw ConfigError(key: "queue.max_backoff_seconds", message: "is below queue.min_backoff_seconds")
        }
        keep = try Self.pattern(source, "write_relabel.keep")
        drop = try Self.pattern(source, "write_relabel.drop")
    }

    private static func pattern(_ source: ConfigSource, _ key: String) throws -> String? {
        guard let text = source.optionalString(key) else { return nil }
        guard (try? NSRegularExpression(pattern: "^(?:\(text))$")) != nil else {
            throw ConfigError(key: key, message: "'\(text.prefix(80))' is not a valid regular expression")
        }
        return text
    }

    /// The target as logs and `/health/detailed` show it (no credentials, no query).
    public var redactedURL: String { SecretRedaction.redactURL(url.absoluteString) }
}

/// `write_relabel` of one destination: which metric names are sent. Confined to the
/// exporter that owns it.
public final class MetricNameFilter {
    private let keep: NSRegularExpression?
    private let drop: NSRegularExpression?

    public init(keep: String?, drop: String?) {
        self.keep = keep.flatMap { try? NSRegularExpression(pattern: "^(?:\($0))$") }
        self.drop = drop.flatMap { try? NSRegularExpression(pattern: "^(?:\($0))$") }
    }

    /// True when `name` is sent: it matches `keep` (when given) and not `drop`.
    public func admits(_ name: String) -> Bool {
        let range = NSRange(name.startIndex..., in: name)
        if let keep, keep.firstMatch(in: name, range: range) == nil { return false }
        if let drop, drop.firstMatch(in: name, range: range) != nil { return false }
        return true
    }
}
