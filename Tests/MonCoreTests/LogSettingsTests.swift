import Testing

@testable import MonCore

@Suite struct LogSettingsTests {
    static func settings(_ yaml: String, env: [String: String] = [:]) throws -> LogSettings {
        let source = try ConfigSource(yaml: yaml, envPrefix: "MONAGENT", environment: env)
        let settings = try LogSettings(source: source)
        try source.finish()
        return settings
    }

    @Test func defaultsAreInfoAndLogfmt() throws {
        #expect(try Self.settings("") == LogSettings(level: .info, format: .logfmt))
    }

    @Test func theLogSectionIsRead() throws {
        #expect(
            try Self.settings("log:\n  level: debug\n  format: json\n") == LogSettings(level: .debug, format: .json))
    }

    @Test func theOlderLogLevelKeyIsStillRead() throws {
        #expect(try Self.settings("log_level: warning\n").level == .warning)
        #expect(try Self.settings("log_level: warning\nlog:\n  level: error\n").level == .error)
    }

    @Test func environmentVariablesOverride() throws {
        let settings = try Self.settings(
            "log:\n  level: debug\n", env: ["MONAGENT_LOG_LEVEL": "critical", "MONAGENT_LOG_FORMAT": "json"])
        #expect(settings == LogSettings(level: .critical, format: .json))
    }

    @Test(
        "bad values name their key",
        arguments: [
            ("log:\n  level: verbose\n", "log.level", "verbose"), ("log_level: loud\n", "log_level", "loud"),
            ("log:\n  format: xml\n", "log.format", "xml"), ("log:\n  colour: red\n", "log.colour", "unknown key"),
        ])
    func badValuesNameTheirKey(yaml: String, key: String, text: String) {
        let error = #expect(throws: ConfigError.self) { try Self.settings(yaml) }
        #expect(error?.key == key)
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "")")
    }
}
