import MonCore

/// `ingest.address` with its TLS settings and token.
public struct RemoteIngestSettings: Sendable {
    public var host: String
    public var port: Int
    public var tls: TLSClientSettings
    /// Never logged; sent only inside the TLS session.
    public var token: String
}
