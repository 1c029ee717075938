import CCurl
import Foundation
import MonCore

/// Delivers messages through libcurl's SMTP client (STARTTLS, AUTH, CA checks, an overall
/// timeout), one connection per message, on a thread of its own: `curl_easy_perform` blocks.
/// The one file that imports `CCurl`: the easy handle, its recipient list and the upload
/// buffer live in `CurlDelivery` below and never leave this file. A failure is a `MailError`
/// with libcurl's reason and the server's last reply code; the AUTH password never appears
/// in it (it is passed to libcurl alone and scrubbed from any text that came back).
public actor SMTPTransport {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated let settings: SMTPSettings

    /// libcurl's process-wide set-up, once, before the first handle (not thread-safe itself).
    private static let globalSetUp: Int32 = {
        // CURL_GLOBAL_ALL (SSL | WIN32): a macro Swift does not import as a constant.
        Int32(curl_global_init(3).rawValue)
    }()

    public init(settings: SMTPSettings) {
        executor = ThreadExecutor(name: "smtp")
        self.settings = settings
    }

    /// Sends `message` (a whole RFC 5322 message, CRLF line ends) from `settings.from` to
    /// `recipients`; returns when the server accepted it (250 after DATA).
    public func send(_ message: [UInt8], to recipients: [MailAddress]) throws(MailError) {
        guard Self.globalSetUp == 0 else {
            throw MailError("smtp", "libcurl could not be initialised (curl_global_init: \(Self.globalSetUp))")
        }
        guard !recipients.isEmpty else { throw MailError("message", "no recipient") }
        let delivery = try CurlDelivery(settings: settings)
        try delivery.perform(message, recipients: recipients)
    }
}

/// One libcurl easy handle set up for one SMTP delivery. Freed in `deinit`; used on one
/// thread only.
private final class CurlDelivery {
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    /// `CURL *` (curl declares `typedef void CURL`).
    private let handle: UnsafeMutableRawPointer
    private let settings: SMTPSettings
    private var recipientList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init(settings: SMTPSettings) throws(MailError) {
        guard let handle = curl_easy_init() else { throw MailError("smtp", "libcurl could not create a handle") }
        self.handle = handle
        self.settings = settings
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        if let recipientList { curl_slist_free_all(recipientList) }
        errorBuffer.deallocate()
    }

    func perform(_ message: [UInt8], recipients: [MailAddress]) throws(MailError) {
        let upload = Upload(message)
        let uploadPointer = Unmanaged.passUnretained(upload).toOpaque()
        try set(CURLOPT_URL, settings.url)
        // SMTP only: a redirect or a mistyped scheme never reaches another protocol.
        try set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_TIMEOUT, settings.timeoutSeconds)
        try set(CURLOPT_CONNECTTIMEOUT, min(settings.timeoutSeconds, 30))
        let useSSL: curl_usessl =
            switch settings.startTLS {
            case .required: CURLUSESSL_ALL
            case .opportunistic: CURLUSESSL_TRY
            case .off: CURLUSESSL_NONE
            }
        try set(CURLOPT_USE_SSL, Int(useSSL.rawValue))
        if let caFile = settings.caFile { try set(CURLOPT_CAINFO, caFile) }
        if settings.insecureSkipVerify {
            try set(CURLOPT_SSL_VERIFYPEER, 0)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let username = settings.username, let password = settings.password {
            try set(CURLOPT_USERNAME, username)
            try set(CURLOPT_PASSWORD, password)
        }
        try set(CURLOPT_MAIL_FROM, "<\(settings.from.text)>")
        for recipient in recipients {
            guard let list = curl_slist_append(recipientList, "<\(recipient.text)>") else {
                throw MailError("smtp", "libcurl could not allocate the recipient list")
            }
            recipientList = list
        }
        try check(mon_curl_setopt_list(handle, CURLOPT_MAIL_RCPT, recipientList), "CURLOPT_MAIL_RCPT")
        try check(
            mon_curl_setopt_read_function(handle) { buffer, size, count, context in
                guard let buffer, let context else { return 0 }
                let upload = Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue()
                let length = min(size * count, upload.bytes.count - upload.offset)
                guard length > 0 else { return 0 }
                upload.bytes.withUnsafeBufferPointer { source in
                    UnsafeMutableRawPointer(buffer).copyMemory(
                        from: source.baseAddress! + upload.offset, byteCount: length)
                }
                upload.offset += length
                return length
            }, "CURLOPT_READFUNCTION")
        try set(CURLOPT_READDATA, pointer: uploadPointer)
        try set(CURLOPT_UPLOAD, 1)
        let code = withExtendedLifetime(upload) { curl_easy_perform(handle) }
        guard code != CURLE_OK else { return }
        var reply = 0
        _ = mon_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        throw failure(code, reply: reply)
    }

    /// The `MailError` of a failed delivery: the kind, libcurl's reason and detail, the
    /// server's last reply code; the password scrubbed from the text in any case.
    private func failure(_ code: CURLcode, reply: Int) -> MailError {
        let kind: String
        switch code {
        case CURLE_OPERATION_TIMEDOUT: kind = "timeout"
        case CURLE_LOGIN_DENIED: kind = "auth"
        case CURLE_USE_SSL_FAILED, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            kind = "tls"
        default: kind = "smtp"
        }
        let reason = String(cString: curl_easy_strerror(code))
        var detail = String(cString: errorBuffer).trimmingCharacters(in: [" ", "\n", "\r"])
        if detail == reason { detail = "" }
        var text =
            "SMTP delivery through \(SecretRedaction.redactURL(settings.url)) failed: \(reason)"
            + (detail.isEmpty ? "" : " (\(detail))") + (reply > 0 ? ", last server reply \(reply)" : "")
            + (kind == "tls" && settings.startTLS == .required ? "; starttls is required" : "")
        if let password = settings.password, !password.isEmpty {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        return MailError(kind, MailError.printable(text, limit: 600))
    }

    private func set(_ option: CURLoption, _ value: String) throws(MailError) {
        try check(mon_curl_setopt_string(handle, option, value), "\(option.rawValue)")
    }

    private func set(_ option: CURLoption, _ value: Int) throws(MailError) {
        try check(mon_curl_setopt_long(handle, option, value), "\(option.rawValue)")
    }

    private func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer) throws(MailError) {
        try check(mon_curl_setopt_pointer(handle, option, pointer), "\(option.rawValue)")
    }

    private func check(_ code: CURLcode, _ option: String) throws(MailError) {
        guard code == CURLE_OK else {
            throw MailError(
                "smtp", "libcurl refused option \(option): \(String(cString: curl_easy_strerror(code)))")
        }
    }
}

@available(*, unavailable)
extension CurlDelivery: Sendable {}
