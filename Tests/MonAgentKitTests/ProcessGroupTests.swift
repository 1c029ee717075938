import Foundation
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
}
