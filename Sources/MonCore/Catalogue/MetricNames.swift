import Foundation

/// Prometheus-compatible metric names from arbitrary application names.
public enum MetricNames {
    /// The request-duration histogram every HTTP observation feeds (StatsD timers and log
    /// events, in the agent); the daemon's request statistics read it.
    public static let requestDuration = "mon_app_request_duration_seconds"

    package static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }

    /// `api.search-hybrid` → `api_search_hybrid` (runs of other characters become one `_`).
    public static func sanitize(_ name: String) -> String {
        var out = ""
        var lastUnderscore = false
        for byte in name.utf8 {
            if isNameByte(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
                lastUnderscore = byte == UInt8(ascii: "_")
            } else if !lastUnderscore {
                out += "_"
                lastUnderscore = true
            }
        }
        return out
    }
}
