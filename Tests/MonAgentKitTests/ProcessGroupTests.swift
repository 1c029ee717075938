import Foundation
import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ProcessGroupTests {
    static let groups = ProcessGroup.defaults

    @Test(arguments: [
        ("python3", ["python", "-m", "uvicorn", "app:app"], "uvicorn"),
        ("python3", ["/usr/bin/python3", "/srv/venv/bin/uvicorn", "app:app"], "uvicorn"),
        ("uvicorn", ["/srv/venv/bin/uvicorn"], "uvicorn"),
        ("postgres", ["/usr/lib/postgresql/15/bin/postgres", "-D", "/data"], "postgres"),
        ("postgres", ["postgres: 15/main: walwriter "], "postgres"),
        ("redis-server", ["redis-server *:6379"], "redis-server"),
        ("monagent", ["/usr/local/bin/monagent", "run"], "monagent"),
    ])
    func matches(_ comm: String, _ arguments: [String], _ expected: String) throws {
        let index = try #require(ProcessGroup.group(in: Self.groups, comm: comm) { arguments })
        #expect(Self.groups[index].name == expected)
    }

    @Test(arguments: [
        ("bash", ["bash"]),
        ("kworker/0:1", []),
        ("postgresql", ["psql", "-h", "localhost"]),
        ("redis-cli", ["redis-cli", "ping"]),
    ])
    func doesNotMatch(_ comm: String, _ arguments: [String]) {
        #expect(ProcessGroup.group(in: Self.groups, comm: comm) { arguments } == nil)
    }

    @Test func commMatchWinsOverAnEarlierCmdlineMatch() throws {
        // The agent's own command line mentions uvicorn, but its comm says monagent.
        let index = try #require(
            ProcessGroup.group(in: Self.groups, comm: "monagent") { ["monagent", "--config", "/etc/uvicorn.yaml"] })
        #expect(Self.groups[index].name == "monagent")
    }

    @Test func cmdlineIsNotReadWhenCommDecides() {
        var asked = false
        _ = ProcessGroup.group(in: Self.groups, comm: "redis-server") {
            asked = true
            return []
        }
        #expect(!asked)
    }

    @Test func longCommComparesTruncated() {
        let group = ProcessGroup(name: "long", comm: ["a-very-long-daemon-name"])
        #expect(group.matches(comm: "a-very-long-dae"))
        #expect(!group.matches(comm: "a-very-long-da"))
    }

    @Test func codableRoundTrip() throws {
        let data = try JSONEncoder().encode(Self.groups)
        #expect(try JSONDecoder().decode([ProcessGroup].self, from: data) == Self.groups)
    }

    @Test("matches(cmdline:) on the raw bytes agrees with matches(commandLine:) on the arguments joined by spaces")
    func byteMatchingAgreesWithTheJoinedCommandLine() {
        let patterns = [
            ProcessGroup(name: "a", cmdline: ["uvicorn"]), ProcessGroup(name: "b", cmdline: ["postgres:"]),
            ProcessGroup(name: "c", cmdline: ["-m uvicorn", "app:app --workers"]),
            ProcessGroup(name: "d", cmdline: ["", "x"]), ProcessGroup(name: "e", cmdline: ["é", "a b"]),
        ]
        var inputs: [[UInt8]] = [
            [], [0], [0, 0], Array("x".utf8), Array("x\0".utf8), Array("\0x".utf8), Array("a\0b".utf8),
            Array("a\0b\0\0".utf8), Array("a \0".utf8),
            Array("/usr/bin/python3\0-m\0uvicorn\0app:app\0--workers\0".utf8),
            Array("postgres: checkpointer ".utf8), Array("postgres:".utf8).dropLast(1) + [0], Array("caf\u{E9}\0".utf8),
            [0xFF, 0x75, 0x76, 0x69, 0x63, 0x6F, 0x72, 0x6E, 0xFE, 0], Array("uvicor".utf8), Array("uvicorn".utf8),
        ]
        var random = SeededGenerator(state: 3)
        let alphabet = Array("ab x:-\0uvicornpostgres".utf8) + [0, 0xFF]
        for _ in 0..<2_000 {
            inputs.append(
                (0..<Int.random(in: 0...24, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        for input in inputs {
            let joined = ProcessCmdlineParser.parse(input).joined(separator: " ")
            for group in patterns {
                let bytes = input.withUnsafeBufferPointer { group.matches(cmdline: $0) }
                #expect(bytes == group.matches(commandLine: joined), "\(group.name) on \(input)")
            }
        }
    }
}
