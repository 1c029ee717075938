import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MonCore
@testable import MonQuery
@testable import MonQueryKit

/// What monquery tells about builds: its own in `mon_build_info` and `/health/detailed`, each
/// agent's version and revision (from HELLO) in `/health/detailed`.
@Suite struct BuildInfoRouteTests {
    static func api(_ stats: IngestStats = IngestStats()) -> API {
        API(stores: QueryStorePool([QueryStore(databaseURL: "postgresql://127.0.0.1:1/none")]), stats: stats)
    }

    @Test func metricsCarryTheBuildInfo() async throws {
        let build = BuildInfo.current
        let app = Application(router: buildRouter(Self.api()))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("# TYPE mon_build_info gauge\n"))
                #expect(
                    text.contains(
                        "mon_build_info{version=\"\(build.version)\",revision=\"\(build.revision)\",swift_version=\"\(build.swiftVersion)\"} 1\n"
                    ), "\(text)")
            }
        }
    }

    @Test func renderedLikePrometheusOwnBuildInfo() {
        var out = PrometheusText(format: .text004)
        API.buildInfoMetric(&out, BuildInfo(version: "0.1.0", revision: "89d9af8-dirty", swiftVersion: "6.3.1"))
        out.finish()
        #expect(
            String(decoding: out.takeBytes(), as: UTF8.self).hasSuffix(
                "# TYPE mon_build_info gauge\nmon_build_info{version=\"0.1.0\",revision=\"89d9af8-dirty\",swift_version=\"6.3.1\"} 1\n"
            ))
    }

    @Test("/health/detailed: the daemon's build, and each agent's version and revision (null from older agents)")
    func healthShowsVersions() async throws {
        let stats = IngestStats()
        await stats.agentConnected(
            AgentIdentity(agentID: "new", host: "web-1", bootID: "b", version: "0.2.0+89d9af8e0c1f"))
        await stats.agentConnected(AgentIdentity(agentID: "old", host: "web-2", bootID: "b", version: "0.1.0"))
        await stats.agentConnected(AgentIdentity(agentID: "v1", host: "web-3", bootID: "b"))
        let (body, _) = await Self.api(stats).healthReport(nowMs: WallClock.nowMs())
        #expect(body["build"]?["revision"] == .string(BuildInfo.current.revision))
        #expect(body["build"]?["swift_version"] == .string(BuildInfo.current.swiftVersion))
        guard case .array(let agents)? = body["checks"]?["ingest"]?["agents"] else {
            Issue.record("no agents in \(body.encoded())")
            return
        }
        let versions = agents.map { [$0["agent_id"], $0["version"], $0["revision"]] }
        #expect(
            versions == [
                [.string("new"), .string("0.2.0"), .string("89d9af8e0c1f")], [.string("old"), .string("0.1.0"), .null],
                [.string("v1"), .null, .null],
            ])
        #expect(API.redacted(body)["build"] == nil, "callers without a token see statuses only")
    }
}
