import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// What an attacker or a careless client sends, against running programs (issue 18): every
/// boundary refuses it with a clear status or error, counts it, and keeps serving everyone
/// else. The cases live in extensions by boundary: `HostileInputTests+HTTP.swift` (paths ×
/// protected routes, tokens, connection and subscriber floods), `+Ingest.swift` (spoofed
/// identities, oversized and poison batches), `+Numbers.swift` (StatsD and numeric extremes),
/// `+Files.swift` (symlinks in the log directory, the spool).
///
/// `scripts/test` runs this suite on its own (one test at a time): floods of connections and
/// subscribers must not starve the other suites' daemons.
@Suite(
    .enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL, built binaries)"),
    .serialized)
struct HostileInputTests {}
