/// An e-mail that cannot be built or sent: the part at fault and what went wrong, for the
/// operator. Never carries the SMTP password: `SMTPTransport` builds its messages from
/// libcurl's error text and the server's reply code only.
public struct MailError: Error, Sendable, CustomStringConvertible {
    /// `address`, `message`, `smtp` (libcurl or the server refused), `timeout`, `tls`, `auth`.
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// `text` cut to `limit` characters with control characters shown as `\u{…}`, for a message
    /// that quotes an input (a refused address must not break the log line it is quoted in).
    static func printable(_ text: String, limit: Int) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
