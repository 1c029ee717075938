import NIOCore

/// Adds a security layer (TLS) first in a new connection's pipeline. MonCore only carries
/// it: the executables build it with MonTLS, so BoringSSL stays out of MonCore (and out of
/// the fuzz and bench packages built on it).
public typealias ChannelSecurity = @Sendable (any Channel) throws -> Void

/// A PEM certificate chain and its private key, named by configuration keys
/// (`http.tls.*`, `ingest.tls.*`); read and checked by MonTLS when the daemon starts.
public struct TLSFiles: Sendable, Equatable {
    /// `<prefix>.certificate_file` — PEM, the server's certificate first, then intermediates.
    public var certificate: String
    /// `<prefix>.key_file` — PEM private key (read once at start; keep it mode 0600).
    public var key: String
    /// The configuration prefix, for error messages (`http.tls`, `ingest.tls`).
    public var prefix: String

    public init(certificate: String, key: String, prefix: String) {
        self.certificate = certificate
        self.key = key
        self.prefix = prefix
    }

    /// Reads `<prefix>.certificate_file` and `<prefix>.key_file`: both or neither.
    public static func load(_ source: ConfigSource, prefix: String) throws -> TLSFiles? {
        let certificate = source.string("\(prefix).certificate_file", default: "")
        let key = source.string("\(prefix).key_file", default: "")
        switch (certificate.isEmpty, key.isEmpty) {
        case (true, true): return nil
        case (false, false): break
        case (true, false):
            throw ConfigError(key: "\(prefix).certificate_file", message: "is required with \(prefix).key_file")
        case (false, true):
            throw ConfigError(key: "\(prefix).key_file", message: "is required with \(prefix).certificate_file")
        }
        return TLSFiles(certificate: certificate, key: key, prefix: prefix)
    }
}

/// How a client checks the server's certificate: a remote agent the daemon's
/// (`ingest.tls.ca_file`, `ingest.tls.server_name`), monquery an Alertmanager's or a
/// webhook's (`alerts.alertmanager.tls.*`, `alerts.webhook_tls.*`, which may add a client
/// certificate).
public struct TLSClientSettings: Sendable, Equatable {
    /// PEM file of the CA (or the self-signed certificate) to trust; nil: the system's roots.
    public var caFile: String?
    /// Name the certificate must carry; nil: the host connected to.
    public var serverName: String?
    /// A client certificate and its key (`<prefix>.certificate_file`, `<prefix>.key_file`).
    public var certificate: TLSFiles? = nil
    /// `<prefix>.insecure_skip_verify` (default false): accept any server certificate.
    public var insecureSkipVerify = false
    /// The configuration prefix, for error messages.
    public var prefix = "ingest.tls"

    public init(caFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.serverName = serverName
    }

    /// Reads `<prefix>.ca_file`, `.server_name`, `.certificate_file` with `.key_file` (both
    /// or neither) and `.insecure_skip_verify`; the files are read by MonTLS at start.
    public static func load(_ source: ConfigSource, prefix: String) throws -> TLSClientSettings {
        var settings = TLSClientSettings(
            caFile: source.optionalString("\(prefix).ca_file").flatMap { $0.isEmpty ? nil : $0 },
            serverName: source.optionalString("\(prefix).server_name").flatMap { $0.isEmpty ? nil : $0 })
        settings.certificate = try TLSFiles.load(source, prefix: prefix)
        settings.insecureSkipVerify = try source.bool("\(prefix).insecure_skip_verify", default: false)
        settings.prefix = prefix
        return settings
    }
}
