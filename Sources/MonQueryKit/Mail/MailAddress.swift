/// A plain e-mail address (`ops@example.com`), checked where it enters the configuration so
/// that nothing behind it can carry a header: printable ASCII without spaces, quotes, angle
/// brackets, commas or semicolons, one `@` between a local part of 1–64 bytes and a domain of
/// dot-separated labels (letters, digits, `-`), 254 bytes in all. A CR or LF (a header
/// injection: `a@b\r\nBcc: x@y`) is refused like any other control character.
public struct MailAddress: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    /// Nil with the reason when `text` is not a plain address.
    public static func check(_ text: String) -> String? {
        guard !text.isEmpty else { return "is empty" }
        guard text.utf8.count <= 254 else { return "is longer than 254 bytes" }
        if text.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E }) {
            return "contains a space, a control character (CR, LF: a header injection) or a non-ASCII byte"
        }
        if let bad = text.first(where: { "<>()[]\\,;:\"'`".contains($0) }) {
            return "contains '\(bad)': give a plain address (name@domain), no display name or list"
        }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return "must contain exactly one '@'" }
        let (local, domain) = (parts[0], parts[1])
        guard !local.isEmpty, local.utf8.count <= 64 else { return "the part before '@' must be 1 to 64 bytes" }
        guard !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else {
            return "the part before '@' has a misplaced '.'"
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard
            !domain.isEmpty,
            labels.allSatisfy({ label in
                !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.unicodeScalars.allSatisfy {
                        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
                    }
            })
        else { return "the domain after '@' must be labels of letters, digits and '-' separated by '.'" }
        return nil
    }

    /// The address, or a `MailError` (code `address`) naming what is wrong with it.
    public init(_ text: String) throws(MailError) {
        if let problem = Self.check(text) {
            throw MailError("address", "'\(MailError.printable(text, limit: 80))' is not an e-mail address: \(problem)")
        }
        self.text = text
    }

    public var description: String { text }
}
