import Testing

@testable import MonCore

@Suite struct RedisURLTests {
    @Test(arguments: [
        ("redis://localhost", RedisURL(endpoint: .tcp(host: "localhost", port: 6379))),
        ("redis://cache.internal:6380", RedisURL(endpoint: .tcp(host: "cache.internal", port: 6380))),
        ("redis://10.0.0.5:6379/3", RedisURL(endpoint: .tcp(host: "10.0.0.5", port: 6379), database: 3)),
        ("redis://10.0.0.5/", RedisURL(endpoint: .tcp(host: "10.0.0.5", port: 6379))),
        ("REDIS://h?db=2", RedisURL(endpoint: .tcp(host: "h", port: 6379), database: 2)),
        ("redis://[::1]:7000/1", RedisURL(endpoint: .tcp(host: "::1", port: 7000), database: 1)),
        ("redis://:s3cret@h:6379/0", RedisURL(endpoint: .tcp(host: "h", port: 6379), password: "s3cret")),
        (
            "redis://monagent:s3cret@h:6379/2",
            RedisURL(endpoint: .tcp(host: "h", port: 6379), username: "monagent", password: "s3cret", database: 2)
        ),
        ("redis://monagent@h", RedisURL(endpoint: .tcp(host: "h", port: 6379), username: "monagent")),
        ("redis://:p%40ss%3Aw%2Fd@h", RedisURL(endpoint: .tcp(host: "h", port: 6379), password: "p@ss:w/d")),
        ("unix:///run/redis/redis.sock", RedisURL(endpoint: .unix(path: "/run/redis/redis.sock"))),
        ("unix:///run/redis/redis.sock?db=4", RedisURL(endpoint: .unix(path: "/run/redis/redis.sock"), database: 4)),
        ("unix://:s3cret@/tmp/r.sock", RedisURL(endpoint: .unix(path: "/tmp/r.sock"), password: "s3cret")),
    ])
    func parsesAcceptedForms(_ text: String, _ expected: RedisURL) throws {
        let url = try RedisURL(text)
        #expect(url.endpoint == expected.endpoint)
        #expect(url.username == expected.username)
        #expect(url.password == expected.password)
        #expect(url.database == expected.database)
    }

    @Test(arguments: [
        ("redis://localhost", "redis://localhost:6379/0"),
        ("redis://:s3cret@h:6380/2", "redis://:***@h:6380/2"),
        ("redis://app:s3cret@h", "redis://app:***@h:6379/0"),
        ("redis://[::1]", "redis://[::1]:6379/0"),
        ("unix:///tmp/r.sock?db=1", "unix:///tmp/r.sock?db=1"),
        ("unix://:s3cret@/tmp/r.sock", "unix://:***@/tmp/r.sock"),
    ])
    func redactedHidesThePassword(_ text: String, _ redacted: String) throws {
        let url = try RedisURL(text)
        #expect(url.redacted == redacted)
        #expect(url.description == redacted)
        #expect(!String(reflecting: url).contains("s3cret"))
        var dumped = ""
        dump(url, to: &dumped)
        #expect(!dumped.contains("s3cret"))
    }

    @Test(arguments: [
        "",
        "localhost:6379",
        "http://h:6379",
        "rediss://:s3cret@h:6380",
        "redis://",
        "redis://:s3cret@",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:63x9",
        "redis://:s3cret@h:port",
        "redis://h/x",
        "redis://h/-1",
        "redis://h/1?db=2",
        "redis://h?password=s3cret",
        "redis://h?db",
        "redis://h:1:2",
        "redis://[::1",
        "redis://[zz]:1",
        "redis://bad host",
        "redis://:s3cret@h:6379/0/extra",
        "redis://user:s3cret/with/slash@h",
        "redis://user:s3c?ret@h",
        "redis://user:%zz@h",
        "redis://user:@h",
        "unix://",
        "unix://relative/path.sock",
        "unix:///tmp/",
        "unix:///tmp/r.sock?db=x",
        "unix://:s3cret@/tmp/r.sock?timeout=1",
    ])
    func rejectsBadURLsWithoutShowingThePassword(_ text: String) {
        let error = #expect(throws: RedisError.self) { try RedisURL(text) }
        #expect(error?.code == .invalidURL)
        #expect(error?.message.hasPrefix("bad Redis URL '") == true)
        #expect(error.map { !$0.description.contains("s3c") } == true, "\(error?.description ?? "")")
    }

    @Test func redactOnAnUnparsableStringHidesEverythingBeforeTheLastAt() {
        #expect(RedisURL.redact("redis://user:s3/cr@et@h/0") == "redis://user:***@h/0")
        #expect(RedisURL.redact("redis://s3cret@h") == "redis://***@h")
        #expect(RedisURL.redact("redis://h?password=s3cret") == "redis://h?password=***")
    }

    @Test func socketPathsLongerThanSunPathAreRefused() {
        let path = "/" + String(repeating: "d", count: 120) + ".sock"
        let error = #expect(throws: RedisError.self) { try RedisURL("unix://" + path) }
        #expect(error?.message.contains("longer than the 107") == true)
    }
}
