import MonAgentKit
import MonCore
import MonTLS

extension Shipper.Remote {
    /// The remote daemon of `ingest.address`, with its TLS handler built now.
    public init(_ settings: RemoteIngestSettings) throws {
        self.init(settings: settings, security: try settings.tls.clientSecurity(host: settings.host))
    }
}
