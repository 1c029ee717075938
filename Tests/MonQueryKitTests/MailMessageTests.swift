import Foundation
import Testing

@testable import MonQueryKit

private func message(
    subject: String = "MnemoLite daily report 2026-12-05 (all hosts)", text: String = "Period: last 24h\n",
    html: String = "<p>Period</p>", pdf: [UInt8] = Array("%PDF-1.5 test".utf8)
) throws -> MailMessage {
    MailMessage(
        from: try MailAddress("monquery@example.com"),
        to: [try MailAddress("ops@example.com"), try MailAddress("oncall@example.org")], subject: subject,
        dateMs: 1_796_540_400_000, messageID: "report-1-1-abc", text: text, html: html,
        attachments: [.init(filename: "report-daily-2026-12-06.pdf", contentType: "application/pdf", bytes: pdf)])
}

/// Splits a rendered message on CRLF (and checks there is no bare LF or CR).
private func lines(_ bytes: [UInt8]) -> [String] {
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
    return text.components(separatedBy: "\r\n")
}

/// `MailMessage`: the digest's MIME structure, line lengths, base64 wrapping, boundaries,
/// and refusals of header injection.
@Suite struct MailMessageTests {
    @Test("headers, a multipart/alternative text+html, the PDF attached in base64")
    func structure() throws {
        let pdf = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let rendered = try message(pdf: pdf).render(boundaryToken: "0123456789abcdef01234567")
        let all = lines(rendered)
        let headerEnd = try #require(all.firstIndex(of: ""))
        let headers = all[..<headerEnd]
        #expect(headers.contains("From: monquery@example.com"))
        #expect(headers.contains("To: ops@example.com, oncall@example.org"))
        #expect(headers.contains("Subject: MnemoLite daily report 2026-12-05 (all hosts)"))
        #expect(headers.contains("Date: Sun, 06 Dec 2026 07:00:00 +0000"))
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("Message-ID: <report-1-1-abc@monquery>"))
        #expect(
            headers.contains("Content-Type: multipart/mixed; boundary=\"=_mon0123456789abcdef01234567_mixed\""))
        let text = String(decoding: rendered, as: UTF8.self)
        #expect(text.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(text.contains("Content-Type: text/html; charset=utf-8"))
        #expect(text.contains("Content-Type: application/pdf; name=\"report-daily-2026-12-06.pdf\""))
        #expect(text.contains("Content-Disposition: attachment; filename=\"report-daily-2026-12-06.pdf\""))
        #expect(text.hasSuffix("--=_mon0123456789abcdef01234567_mixed--\r\n"))
        // The attachment decodes to the same bytes.
        let start = try #require(all.firstIndex { $0.hasPrefix("Content-Disposition: attachment") }) + 3
        let end = try #require(all[start...].firstIndex(of: ""))
        let decoded = try #require(Data(base64Encoded: all[start..<end].joined()))
        #expect([UInt8](decoded) == pdf)
    }

    @Test("no line over 998 bytes; base64 lines of 76 characters (the last shorter)")
    func lineLengths() throws {
        let long = String(repeating: "é long line without a break ", count: 400)
        let rendered = try message(text: long, html: "<p>\(long)</p>", pdf: Array(repeating: 0x25, count: 50_000))
            .render()
        let all = lines(rendered)
        #expect(all.allSatisfy { $0.utf8.count <= MailMessage.maxLineBytes })
        let base64Lines = all.filter {
            !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || "+/=".contains($0) }
        }
        #expect(base64Lines.count > 600)
        #expect(base64Lines.allSatisfy { $0.count <= MailMessage.base64LineBytes })
        #expect(base64Lines.filter { $0.count == MailMessage.base64LineBytes }.count >= base64Lines.count - 4)
    }

    @Test("the boundaries occur only as delimiter lines, never in the content")
    func boundaryNotInContent() throws {
        // Every body is base64, which cannot contain "=_mon" (render checks it all the same).
        let pdf = Array("%PDF".utf8) + Array(repeating: 0xFF, count: 300)
        let encoded = Data(pdf).base64EncodedString()
        #expect(!encoded.contains("=_mon"))
        let rendered = try message(pdf: pdf).render(boundaryToken: "x")
        let text = String(decoding: rendered, as: UTF8.self)
        let boundary = try #require(
            text.components(separatedBy: "boundary=\"").dropFirst().first?.prefix { $0 != "\"" })
        // Each boundary occurs only as a delimiter line (and in its own Content-Type header).
        let body = text.components(separatedBy: "\r\n").filter { !$0.hasPrefix("Content-Type:") }
        #expect(body.filter { $0.contains(boundary) }.allSatisfy { $0 == "--\(boundary)" || $0 == "--\(boundary)--" })
        #expect(MailMessage.randomToken().count == 24)
        #expect(MailMessage.randomToken() != MailMessage.randomToken())
    }

    @Test("hostile: a subject with CR/LF, a file name with a quote are refused; a non-ASCII subject is encoded")
    func injection() throws {
        #expect(throws: MailError.self) { try message(subject: "report\r\nBcc: victim@example.org").render() }
        #expect(throws: MailError.self) { try message(subject: "report\nX: y").render() }
        var quoted = try message()
        quoted.attachments[0].filename = "a\".pdf"
        #expect(throws: MailError.self) { try quoted.render() }
        let rendered = try message(subject: "Rapport quotidien — hôte").render()
        let subject = try #require(lines(rendered).first { $0.hasPrefix("Subject: ") })
        #expect(subject.hasPrefix("Subject: =?utf-8?B?"))
        for address in ["a@b.example\r\nBcc: x@y.example", "a b@c.example", "a@b..example", "a@@b", "<a@b.example>"] {
            #expect(throws: MailError.self) { try MailAddress(address) }
        }
        #expect(
            try MailAddress("first.last+tag@sub-domain.example.com").text == "first.last+tag@sub-domain.example.com")
    }
}
