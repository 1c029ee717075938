import MonCore

/// The HTTP server's limits and the credential throttle (`http.*`, `auth.*` of monquery.yaml;
/// every key documented in `config/monquery.yaml`).
public struct HTTPLimits: Sendable, Equatable {
    /// `http.idle_timeout_seconds` (default 60; 0.5–3600): a connection with no request in
    /// progress — a keep-alive connection between requests, or one still sending its request
    /// head — is closed after this long. Streams and long exports are not idle.
    public var idleTimeoutSeconds: Double = 60
    /// `http.max_connections` (default 256; 1–65535): connections served at once. One more gets
    /// `503` with `Retry-After` and is closed; beyond twice the cap the daemon stops accepting
    /// until connections close (the kernel queues them).
    public var maxConnections = 256
    /// `http.max_stream_subscribers` (default 100; 1–100000): live Server-Sent Events streams
    /// (log and alert streams, the dashboard's log pane) at once; one more gets `503` + `Retry-After`.
    public var maxStreamSubscribers = 100
    /// `http.max_header_bytes` (default 16384; 1024–1048576): request line and header fields
    /// together (and any single field); more gets `431` and the connection is closed.
    public var maxHeaderBytes = 16_384
    /// `http.max_body_bytes` (default 65536; 1024–67108864): request body; a larger declared
    /// `Content-Length` gets `413`, a larger streamed body closes the connection.
    public var maxBodyBytes = 65_536
    /// `auth.max_failures_per_minute` (default 10; 1–10000): failed bearer tokens and dashboard
    /// logins allowed per client address (IPv6: per /64) before `429` with `Retry-After`.
    public var authFailuresPerMinute = 10
    /// `auth.throttle_max_addresses` (default 10000; 16–1000000): addresses the throttle tracks
    /// at most (bounded memory; the longest-quiet ones are forgotten first).
    public var throttleMaxAddresses = 10_000

    public init() {}

    public init(source: ConfigSource) throws {
        idleTimeoutSeconds = try source.double("http.idle_timeout_seconds", default: 60, range: 0.5...3600)
        maxConnections = try source.int("http.max_connections", default: 256, range: 1...65_535)
        maxStreamSubscribers = try source.int("http.max_stream_subscribers", default: 100, range: 1...100_000)
        maxHeaderBytes = try source.int("http.max_header_bytes", default: 16_384, range: 1024...1_048_576)
        maxBodyBytes = try source.int("http.max_body_bytes", default: 65_536, range: 1024...67_108_864)
        authFailuresPerMinute = try source.int("auth.max_failures_per_minute", default: 10, range: 1...10_000)
        throttleMaxAddresses = try source.int("auth.throttle_max_addresses", default: 10_000, range: 16...1_000_000)
    }
}
