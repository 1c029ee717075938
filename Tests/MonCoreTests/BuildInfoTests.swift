import NIOCore
import Testing

@testable import MonCore

@Suite struct BuildInfoTests {
    static let hash = "89d9af8e0c1f4d2b9a7e6c5d4b3a29180706f5e4"

    @Test(
        "the version comes from a tag when there is one, else from MonCoreVersion",
        arguments: [
            ("v0.2.0", "0.2.0", hash), ("0.2.0-3-g89d9af8", "0.2.0-3-g89d9af8", hash),
            ("v0.2.0-dirty", "0.2.0", hash + "-dirty"), ("89d9af8", MonCoreVersion.string, hash),
            ("89d9af8-dirty", MonCoreVersion.string, hash + "-dirty"), ("", MonCoreVersion.string, hash),
        ])
    func versionFromDescribe(describe: String, version: String, revision: String) {
        let build = BuildInfo(describe: describe, revision: Self.hash, swiftVersion: "6.3.1")
        #expect(build.version == version)
        #expect(build.revision == revision)
    }

    @Test func outsideAGitCheckoutTheRevisionIsUnknown() {
        let build = BuildInfo(describe: "", revision: "", swiftVersion: "")
        #expect(build == BuildInfo(version: MonCoreVersion.string, revision: "unknown", swiftVersion: "6.3"))
        #expect(build.helloVersion == MonCoreVersion.string)
        #expect(build.versionLine(program: "monquery") == "monquery 0.1.0 (revision unknown, Swift 6.3)")
    }

    @Test func theVersionLine() {
        let build = BuildInfo(describe: "89d9af8", revision: Self.hash, swiftVersion: "6.3.1")
        #expect(build.versionLine(program: "monagent") == "monagent 0.1.0 (revision \(Self.hash), Swift 6.3.1)")
    }

    @Test("HELLO carries version+revision in the one agent_version field, and the daemon splits it")
    func helloVersion() {
        let clean = BuildInfo(describe: "89d9af8", revision: Self.hash, swiftVersion: "6.3.1")
        #expect(clean.helloVersion == "0.1.0+89d9af8e0c1f")
        let dirty = BuildInfo(describe: "v0.2.0-1-g89d9af8-dirty", revision: Self.hash, swiftVersion: "6.3.1")
        #expect(dirty.helloVersion == "0.2.0-1-g89d9af8+89d9af8e0c1f.dirty")
        #expect(BuildInfo.parseHelloVersion("0.1.0+89d9af8e0c1f") == ("0.1.0", "89d9af8e0c1f"))
        #expect(BuildInfo.parseHelloVersion(dirty.helloVersion) == ("0.2.0-1-g89d9af8", "89d9af8e0c1f.dirty"))
        // Agents before the revision was added send the bare version; odd strings stay whole.
        for old in ["0.1.0", "+abc", "1.0+", "weird version"] {
            #expect(BuildInfo.parseHelloVersion(old) == (old, nil), "\(old)")
        }
    }

    /// The field and its place are protocol 2's: a daemon of the previous release decodes a
    /// new agent's HELLO (these bytes) and an old agent's HELLO still decodes here.
    @Test func theHelloOfANewAgentHasTheLayoutOfProtocol2() throws {
        let version = BuildInfo(describe: "89d9af8", revision: Self.hash, swiftVersion: "6.3.1").helloVersion
        let hello = WireMessage.hello(
            .init(agentID: "a", host: "h", bootID: "b", intervalMs: 5000, agentVersion: version))
        var expected: [UInt8] = [
            0, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x62, 0, 0, 0, 0, 0, 0, 0x13, 0x88,
        ]
        expected += [0, 0, 0, UInt8(version.utf8.count)] + Array(version.utf8)
        #expect(Array(hello.frame().payload.readableBytesView) == expected)
        guard case .hello(let decoded) = try WireMessage(frame: Frame(.hello, payload: ByteBuffer(bytes: expected)))
        else {
            Issue.record("not a HELLO")
            return
        }
        #expect(decoded.agentVersion == "0.1.0+89d9af8e0c1f")
        let old: [UInt8] = [0, 1, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x62]
        guard case .hello(let previous) = try WireMessage(frame: Frame(.hello, payload: ByteBuffer(bytes: old))) else {
            Issue.record("not a HELLO")
            return
        }
        #expect(previous.agentVersion == nil && previous.protocolVersion == 1)
    }
}
