import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct RedisInfoParserTests {
    @Test func parsesTheCapturedReply() throws {
        let info = try RedisInfoParser.parse(RedisFixtures.text("info.txt"))
        #expect(info.version == "7.0.15")
        #expect(info.mode == "standalone")
        #expect(info.role == "master")
        #expect(info.uptimeSeconds == 10)
        #expect(info.connectedClients == 1)
        #expect(info.blockedClients == 0)
        #expect(info.usedMemoryBytes == 1_268_968)
        #expect(info.usedMemoryPeakBytes == 1_287_672)
        #expect(info.maxmemoryBytes == 0)
        #expect(info.memFragmentationRatio == 6.09)
        #expect(info.keyspaceHits == 3)
        #expect(info.keyspaceMisses == 2)
        #expect(info.evictedKeys == 0)
        #expect(info.expiredKeys == 0)
        #expect(info.instantaneousOpsPerSec == 0)
        #expect(info.totalCommandsProcessed == 22)
        #expect(info.masterReplOffset == 0)
        #expect(info.rdbLastBgsaveStatus == "ok")
        #expect(info.aofEnabled == false)
        #expect(info.aofLastWriteStatus == "ok")
        #expect(info.rdbChangesSinceLastSave == 12)
    }

    @Test func keepsEverySectionAndUnknownKeys() throws {
        let info = try RedisInfoParser.parse(RedisFixtures.text("info.txt"))
        #expect(
            Set(info.sections.keys)
                == [
                    "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats",
                    "modules", "errorstats", "latencystats", "cluster", "keyspace",
                ]
        )
        #expect(info.value("server", "multiplexing_api") == "epoll")
        #expect(info.sections["modules"] == [:])
        #expect(info.value("latencystats", "latency_percentiles_usec_get") == "p50=6.015,p99=6.015,p99.9=6.015")
        // Values keep their trailing text: no CR leaks in from the CRLF line ends.
        #expect(info.sections.values.allSatisfy { $0.values.allSatisfy { !$0.contains("\r") } })
    }

    @Test func parsesKeyspaceCommandstatsAndErrorstats() throws {
        let info = try RedisInfoParser.parse(RedisFixtures.text("info.txt"))
        #expect(
            info.keyspace == [
                0: RedisInfo.Keyspace(keys: 7, expires: 2, averageTTLMillis: 3_593_698),
                2: RedisInfo.Keyspace(keys: 1, expires: 0, averageTTLMillis: 0),
            ]
        )
        #expect(info.commandStats.count == 14)
        #expect(
            info.commandStats["get"] == RedisInfo.CommandStats(calls: 2, usec: 12, rejectedCalls: 0, failedCalls: 0))
        #expect(
            info.commandStats["incr"] == RedisInfo.CommandStats(calls: 2, usec: 14, rejectedCalls: 0, failedCalls: 1))
        #expect(info.commandStats["client|setname"]?.calls == 2)
        #expect(info.errorCounts == ["ERR": 2])
    }

    @Test func acceptsLFLineEndsAndOldCommandstats() throws {
        let text = """
            # Server
            redis_version:5.0.7

            # Commandstats
            cmdstat_get:calls=2,usec=15,usec_per_call=7.50

            # Keyspace
            db0:keys=3,expires=1,avg_ttl=12345
            """
        let info = try RedisInfoParser.parse(text)
        #expect(info.version == "5.0.7")
        #expect(info.commandStats["get"] == RedisInfo.CommandStats(calls: 2, usec: 15))
        #expect(info.keyspace[0] == RedisInfo.Keyspace(keys: 3, expires: 1, averageTTLMillis: 12_345))
        #expect(info.usedMemoryBytes == nil)
    }

    @Test func parsesTheBulkStringReply() throws {
        let info = try RedisInfoParser.parse(RedisReply.string(RedisFixtures.bytes("info.txt")))
        #expect(info.version == "7.0.15")
        let error = #expect(throws: RedisError.self) {
            try RedisInfoParser.parse(RedisReply.error("LOADING Redis is loading"))
        }
        #expect(error?.code == .rejected)
        #expect(throws: RedisError.self) { try RedisInfoParser.parse(RedisReply.integer(1)) }
    }

    @Test(arguments: [
        RedisInput("empty", ""),
        RedisInput("blank lines", "\r\n\r\n  \r\n"),
        RedisInput("headers only", "# Server\r\n# Clients\r\n"),
        RedisInput("garbage", "the quick brown fox\r\njumps over\r\n"),
        RedisInput("truncated value", "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:"),
        RedisInput("non-numeric memory", "# Memory\r\nused_memory:1.2G\r\n"),
        RedisInput("non-numeric ratio", "# Memory\r\nmem_fragmentation_ratio:high\r\n"),
        RedisInput("infinite ratio", "# Memory\r\nmem_fragmentation_ratio:inf\r\n"),
        RedisInput("bad flag", "# Persistence\r\naof_enabled:yes\r\n"),
        RedisInput("empty key", "# Server\r\n:7.0.15\r\n"),
        RedisInput("line without colon", "# Server\r\nredis_version:7\r\nstray\r\n"),
        RedisInput("keyspace without keys", "# Keyspace\r\ndb0:expires=1,avg_ttl=0\r\n"),
        RedisInput("keyspace non-numeric", "# Keyspace\r\ndb0:keys=many,expires=1,avg_ttl=0\r\n"),
        RedisInput("keyspace not fields", "# Keyspace\r\ndb0:3\r\n"),
        RedisInput("cmdstat without usec", "# Commandstats\r\ncmdstat_get:calls=2\r\n"),
        RedisInput("errorstat without count", "# Errorstats\r\nerrorstat_ERR:n=2\r\n"),
    ])
    func badInputThrowsMalformed(_ input: RedisInput) {
        let error = #expect(throws: RedisError.self) { try RedisInfoParser.parse(input.text) }
        #expect(error?.code == .malformed)
    }

    @Test func errorsNameTheLine() {
        let error = #expect(throws: RedisError.self) {
            try RedisInfoParser.parse("# Server\r\nredis_version:7.0.15\r\n\r\n# Memory\r\nused_memory:12x\r\n")
        }
        #expect(error?.message == "INFO line 5 'used_memory:12x': used_memory is not an integer")
    }

    @Test func prefixesAndCorruptionsParseOrThrowButNeverTrap() throws {
        let capture = try RedisFixtures.bytes("info.txt")
        var inputs = stride(from: 0, to: capture.count, by: 7).map { Array(capture.prefix($0)) }
        inputs += Corruptions.of(
            capture, count: 300, seed: 42, alphabet: Array(":#,=\r\n0123456789x".utf8))
        var rejected = 0
        for input in inputs {
            do {
                _ = try RedisInfoParser.parse(String(decoding: input, as: UTF8.self))
            } catch {
                #expect(error.code == .malformed)
                rejected += 1
            }
        }
        #expect(rejected > 0, "rejected \(rejected) of \(inputs.count)")
    }
}
