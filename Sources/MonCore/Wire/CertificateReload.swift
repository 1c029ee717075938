/// A TLS certificate and key re-read for a configuration reload (by MonTLS), not yet in force:
/// `apply` makes the connections accepted from then on present them (open ones keep theirs).
public struct CertificateReload: Sendable {
    /// The chain or the key differs from the one in force.
    public var changed: Bool
    public var apply: @Sendable () -> Void

    public init(changed: Bool, apply: @escaping @Sendable () -> Void) {
        self.changed = changed
        self.apply = apply
    }
}

/// Re-reads the files of a TLS server (`http.tls`, `ingest.tls`) and checks them (the key
/// goes with the certificate), throwing a `ConfigError` naming the key, as at start.
public typealias CertificateReloader = @Sendable (TLSFiles) throws -> CertificateReload
