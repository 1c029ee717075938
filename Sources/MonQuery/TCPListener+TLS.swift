import MonCore
import MonQueryKit
import MonTLS

extension IngestServer.TCPListener {
    /// The listener of `ingest.tcp_listen`, with its certificate and key read now.
    public init(_ settings: IngestTCPSettings) throws {
        try self.init(settings, certificate: LiveServerCertificate(settings.tls))
    }

    /// The listener of `ingest.tcp_listen`, presenting `certificate` (which a reload replaces).
    public init(_ settings: IngestTCPSettings, certificate: LiveServerCertificate) throws {
        self.init(
            host: settings.host, port: settings.port, tokens: settings.tokens,
            security: try certificate.serverSecurity())
        handshakeTimeoutSeconds = settings.handshakeTimeoutSeconds
        maxConnections = settings.maxConnections
    }
}
