import Foundation
import MonTestSupport
import Testing

@testable import MonCore

@Suite struct SecretRedactionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var expected: String
        var secret: String
        var testDescription: String { input }
    }

    static let cases: [Case] = [
        Case(
            input: "postgresql://user:secret@host/db",
            expected: "postgresql://user:***@host/db",
            secret: "secret"
        ),
        Case(
            input: "postgres://u:p%40ss@h:5432/d?sslmode=require",
            expected: "postgres://u:***@h:5432/d?sslmode=require",
            secret: "p%40ss"
        ),
        Case(
            input: "host=x password=secret dbname=y",
            expected: "host=x password=*** dbname=y",
            secret: "secret"
        ),
        Case(
            input: "postgresql://h/db?password=secret&x=1",
            expected: "postgresql://h/db?password=***&x=1",
            secret: "secret"
        ),
        Case(
            input: "postgresql://u:p@ss@h/db",
            expected: "postgresql://u:***@h/db",
            secret: "p@ss"
        ),
        Case(
            input: "postgresql://:topsecret@h",
            expected: "postgresql://:***@h",
            secret: "topsecret"
        ),
        Case(
            input: "password=first host=h passwd=second",
            expected: "password=*** host=h passwd=***",
            secret: "first"
        ),
        Case(
            input: "postgresql://u:secret@h/db?password=other",
            expected: "postgresql://u:***@h/db?password=***",
            secret: "other"
        ),
    ]

    @Test("Secrets are replaced by ***", arguments: cases)
    func secretIsRedacted(testCase: Case) {
        let redacted = SecretRedaction.redactURL(testCase.input)
        #expect(redacted == testCase.expected)
        #expect(!redacted.contains(testCase.secret))
    }

    @Test(
        "Text without a password is unchanged",
        arguments: [
            "postgresql:///mon", "postgresql://user@host:5432/db?sslmode=require",
            "host=/run/postgresql dbname=mon",
            "",
            "postgresql://h/db?application_name=a@b:c",
        ]
    )
    func noPasswordIsUnchanged(url: String) {
        #expect(SecretRedaction.redactURL(url) == url)
    }

    /// libpq allows spaces around `=` and single-quoted values with spaces
    /// (`password = 'a b'`); neither may leak any part of the secret.
    @Test(
        "Keyword/value forms libpq accepts do not leak",
        arguments: [
            ("host=x password = hunter2 dbname=y", "hunter2"),
            ("host=x password='hunter 2' dbname=y", "2'"),
        ]
    )
    func libpqKeywordFormsDoNotLeak(input: String, secret: String) {
        let redacted = SecretRedaction.redactURL(input)
        #expect(!redacted.contains(secret), "\(redacted)")
        #expect(redacted.contains("dbname=y"))
    }
}
