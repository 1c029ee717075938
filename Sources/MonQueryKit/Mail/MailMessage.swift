import Foundation
import MonCore

/// An RFC 5322 message with MIME parts, built as bytes: `multipart/mixed` of a
/// `multipart/alternative` (text/plain, then text/html) and attachments. Every body is base64
/// wrapped at 76 characters, so no line is longer than 998 bytes whatever the content; lines
/// end with CRLF; a boundary that occurs in the content is replaced by another. Header values
/// come from checked inputs (`MailAddress`; a subject with a control character is refused).
public struct MailMessage: Sendable {
    public struct Attachment: Sendable {
        /// `report-daily-2026-12-05.pdf`: letters, digits, `.-_` only (it goes in a header).
        public var filename: String
        public var contentType: String
        public var bytes: [UInt8]

        public init(filename: String, contentType: String, bytes: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.bytes = bytes
        }
    }

    public var from: MailAddress
    public var to: [MailAddress]
    public var subject: String
    /// The `Date:` header, ms since the epoch (UTC).
    public var dateMs: Int64
    /// The `Message-ID:` header's part before `@` (letters, digits, `.-_`).
    public var messageID: String
    public var text: String
    public var html: String
    public var attachments: [Attachment]

    public init(
        from: MailAddress, to: [MailAddress], subject: String, dateMs: Int64, messageID: String, text: String,
        html: String, attachments: [Attachment]
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.dateMs = dateMs
        self.messageID = messageID
        self.text = text
        self.html = html
        self.attachments = attachments
    }

    /// The longest line of a message (RFC 5322 §2.1.1), CRLF excluded.
    public static let maxLineBytes = 998
    /// The line length of base64 bodies (RFC 2045 §6.8).
    public static let base64LineBytes = 76

    /// The message's bytes, CRLF line ends. `boundaryToken` makes the boundaries (random by
    /// default; a test passes one that occurs in the content to see it replaced).
    public func render(boundaryToken: String = Self.randomToken()) throws(MailError) -> [UInt8] {
        guard !to.isEmpty else { throw MailError("message", "a message needs at least one recipient") }
        guard subject.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw MailError("message", "the subject contains a control character (CR, LF: a header injection)")
        }
        for name in attachments.map(\.filename) + [messageID] {
            guard !name.isEmpty, name.utf8.count <= 200,
                name.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || ".-_".unicodeScalars.contains($0)
                })
            else {
                throw MailError(
                    "message", "'\(MailError.printable(name, limit: 60))' is not a safe file or message name")
            }
        }
        // The bodies first: the boundaries must not occur in them (base64 never contains `=_`
        // before its end, but the check does not rely on that).
        let textBody = Self.base64Lines(Array(text.utf8))
        let htmlBody = Self.base64Lines(Array(html.utf8))
        let attachmentBodies = attachments.map { Self.base64Lines($0.bytes) }
        var token = boundaryToken
        var round = 0
        while ([textBody, htmlBody] + attachmentBodies).contains(where: { $0.contains("=_mon" + token) }) {
            round += 1
            token = Self.randomToken()
            if round > 8 { throw MailError("message", "no boundary could be found outside the content") }
        }
        let mixed = "=_mon" + token + "_mixed"
        let alternative = "=_mon" + token + "_alt"

        var lines: [String] = [
            "From: \(from.text)",
            "To: \(to.map(\.text).joined(separator: ", "))",
            "Subject: \(Self.encodedHeader(subject))",
            "Date: \(Self.rfc5322Date(ms: dateMs))",
            "Message-ID: <\(messageID)@monquery>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"\(mixed)\"",
            "",
            "This is a MIME message: a text and an HTML version of the digest, and the report as a PDF attachment.",
            "",
            "--\(mixed)",
            "Content-Type: multipart/alternative; boundary=\"\(alternative)\"",
            "",
            "--\(alternative)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        lines += textBody
        lines += [
            "", "--\(alternative)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", "",
        ]
        lines += htmlBody
        lines += ["", "--\(alternative)--", ""]
        for (attachment, body) in zip(attachments, attachmentBodies) {
            lines += [
                "--\(mixed)",
                "Content-Type: \(attachment.contentType); name=\"\(attachment.filename)\"",
                "Content-Disposition: attachment; filename=\"\(attachment.filename)\"",
                "Content-Transfer-Encoding: base64",
                "",
            ]
            lines += body
            lines.append("")
        }
        lines.append("--\(mixed)--")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 2 })
        for line in lines {
            bytes += line.utf8
            bytes += [13, 10]
        }
        return bytes
    }

    /// 24 random hex digits.
    public static func randomToken() -> String {
        (0..<3).map { _ in
            let text = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            return String(repeating: "0", count: 8 - text.count) + text
        }.joined()
    }

    /// `value` as is when it is printable ASCII of a reasonable length, else RFC 2047
    /// encoded-words (`=?utf-8?B?…?=`, each under 76 characters) folded onto several lines.
    static func encodedHeader(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && value.utf8.count <= 900 { return value }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in value {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `bytes` in base64, `base64LineBytes` characters a line.
    static func base64Lines(_ bytes: [UInt8]) -> [String] {
        let encoded = Array(Data(bytes).base64EncodedString().utf8)
        var lines: [String] = []
        var start = 0
        while start < encoded.count {
            let end = min(start + base64LineBytes, encoded.count)
            lines.append(String(decoding: encoded[start..<end], as: UTF8.self))
            start = end
        }
        return lines
    }

    /// `Sun, 06 Dec 2026 07:00:00 +0000`.
    static func rfc5322Date(ms: Int64) -> String {
        let iso = Timestamp.iso8601(ms: ms)  // 2026-12-06T07:00:00.000Z
        let parts = iso.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return iso }
        let (year, month, day) = (parts[0], parts[1], parts[2])
        // Zeller-free: days since 1970-01-01 (a Thursday).
        let days = Int((ms >= 0 ? ms : ms - 86_399_999) / 86_400_000)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let weekday = weekdays[((days % 7) + 7) % 7]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let dayText = day < 10 ? "0\(day)" : "\(day)"
        return
            "\(weekday), \(dayText) \(months[max(0, min(11, month - 1))]) \(year) \(iso.dropFirst(11).prefix(8)) +0000"
    }
}
