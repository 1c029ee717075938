import Testing

@testable import MonAgentKit

@Suite struct RedactorTests {
    // MARK: The required literal of a pattern

    @Test(
        "the literal every match contains",
        arguments: [
            (#"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"#, "bearer", true),
            (#"(?i)\b(password|passwd|pwd|secret|token|api_key|apikey|access_token)=[^\s&"',;]+"#, "=", true),
            (#"://[^/\s:@]+:[^/\s@]+@"#, "://", false),
            (#"AKIA[0-9A-Z]{16}"#, "AKIA", false),
            (#"sk_live_\w+"#, "sk_live_", false),
            (#"ab+cdef"#, "cdef", false),
            (#"abcd?ef"#, "abc", false),
            (#"x{2}yz"#, "yz", false),
            (#"a\.b\.c"#, "a.b.c", false),
            (#"(?:foo)barbaz"#, "barbaz", false),
            (#"[)]token"#, "token", false),
            (#"(?i)TOKEN=\d+"#, "token=", true),
        ])
    func requiredLiteral(_ pattern: String, _ literal: String, _ caseInsensitive: Bool) throws {
        let found = try #require(RedactionPrefilter.requiredLiteral(pattern))
        #expect(found.literal == Array(literal.utf8))
        #expect(found.caseInsensitive == caseInsensitive)
    }

    @Test(
        "no literal when the pattern could match without one, or uses syntax not followed",
        arguments: [
            #"a|b"#, #"secret|token"#, #"(?x) a b c"#, #"abc(?i)def"#, #"\Qabc\E"#, #"\p{L}+"#, #"\x41BC"#,
            #"\1abc"#, #"[]abc]"#, #"(unclosed"#, #".*"#, #"\d+"#, #"a?"#, #"(a)(b)"#, "",
        ])
    func noLiteral(_ pattern: String) {
        #expect(RedactionPrefilter.requiredLiteral(pattern) == nil)
        #expect(RedactionPrefilter(pattern: pattern).mayMatch("anything at all"))
    }

    static let texts = [
        "", "nothing to hide", "Authorization: Bearer abc.def", "BEARER   x", "bear er x", "bearer",
        "token=abc", "TOKEN=abc", "my_token=abc", "token = abc", "x=y", "postgres://u:p@db/x", "http://host/path",
        "Kelvin \u{212A}ey", "paſſword=x", "caf\u{E9} token=\u{E9}", "cafe\u{301}", "line\r\nbreak",
        "AKIA0123456789ABCDEF", "akia0123456789abcdef", "sk_live_abc", "a.b.c", "a-b-c", "abbbcdef", "acdef",
        "xxyz", "barbaz", "foobarbaz", "TOKEN=123", "token=12a",
    ]

    static let patterns =
        LogsConfig.defaultRedactPatterns + [
            #"AKIA[0-9A-Z]{16}"#, #"sk_live_\w+"#, #"ab+cdef"#, #"a\.b\.c"#, #"x{2}yz"#, #"(?:foo)barbaz"#,
            #"(?i)TOKEN=\d+"#, #"(?i)k"#, #"(?i)password=\S+"#, "é", "e\u{301}",
        ]

    @Test("a text the prefilter rules out never matches the pattern")
    func prefilterNeverHidesAMatch() throws {
        for pattern in Self.patterns {
            let regex = try Regex(pattern)
            let prefilter = RedactionPrefilter(pattern: pattern)
            for text in Self.texts where !prefilter.mayMatch(text) {
                #expect(!text.contains(regex), "\(pattern) matches \(text.debugDescription)")
            }
        }
    }

    @Test func prefilterRulesOutTextsWithoutTheLiteral() {
        let bearer = RedactionPrefilter(pattern: LogsConfig.defaultRedactPatterns[0])
        #expect(!bearer.mayMatch("request finished"))
        #expect(!bearer.mayMatch(""))
        #expect(bearer.mayMatch("Authorization: BeArEr x"))
        // Any non-ASCII byte: the pattern runs (Unicode case mapping, canonical equivalence).
        #expect(bearer.mayMatch("caf\u{E9}"))
        let url = RedactionPrefilter(pattern: LogsConfig.defaultRedactPatterns[2])
        #expect(!url.mayMatch("/v1/search/hybrid"))
        #expect(url.mayMatch("redis://u:p@cache"))
    }

    @Test func redactionIsUnchangedWithThePrefilter() throws {
        let redactor = try Redactor(keys: [], patterns: LogsConfig.defaultRedactPatterns)
        for text in Self.texts {
            var fast = 0
            var slow = 0
            let expected = Self.redactWithoutPrefilter(text, LogsConfig.defaultRedactPatterns, count: &slow)
            #expect(redactor.redact(text, count: &fast) == expected, "\(text.debugDescription)")
            #expect(fast == slow)
        }
    }

    /// What `Redactor.redact` did before the prefilter: every pattern on every text.
    static func redactWithoutPrefilter(_ text: String, _ patterns: [String], count: inout Int) -> String {
        var out = text
        for pattern in patterns {
            guard let regex = try? Regex(pattern), out.contains(regex) else { continue }
            count += out.matches(of: regex).count
            out = out.replacing(regex, with: Redactor.mask)
        }
        return out
    }

    // MARK: Secret field names

    @Test("an ASCII name is judged byte by byte as the general test judges it")
    func asciiKeysMatchTheGeneralTest() throws {
        let keys = LogsConfig.defaultRedactKeys + ["X-Custom", "", "schlüssel"]
        let redactor = try Redactor(keys: keys, patterns: [])
        let names = [
            "password", "PASSWORD", "db_password", "Authorization", "x-api-key", "X-API-KEY", "api-key", "apikey",
            "user", "", "tok", "token", "x_custom", "X-CUSTOM-header", "cookies", "set-cookie", "pwdx", "PassWd",
            "Schlüssel", "SCHLÜSSEL", "\u{212A}ey", "to\u{212A}en", "ſecret",
        ]
        for name in names {
            #expect(
                redactor.isSecretKey(name) == Redactor.containsKey(name, redactor.keys),
                "\(name.debugDescription)")
        }
        #expect(redactor.isSecretKey("X-API-KEY"))
        #expect(redactor.isSecretKey("x-custom-header"))
        #expect(!redactor.isSecretKey(""))
        #expect(redactor.isSecretKey("SCHLÜSSEL"))
    }
}
