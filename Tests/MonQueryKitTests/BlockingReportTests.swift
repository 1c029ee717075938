import Foundation
import MonCore
import MonQueryKit
import Testing

/// `BlockingReport.parse` (the agent's rows), its payload both ways, `BlockingTrees` and the
/// `{{detail}}` of alert rules, fed with odd and hostile replies.
@Suite struct BlockingReportTests {
    /// A row as the agent's query returns it: waiter and blocker pids, the server's pair
    /// count, then the waiter's and the blocker's columns.
    static func row(
        _ waiter: String?, _ blocker: String?, total: String? = "1", waiterState: String? = "active",
        waitSeconds: String? = "12.5", waiterStatement: String? = "UPDATE items SET n = n + 1 WHERE id = 1",
        blockerState: String? = "idle in transaction", blockerXact: String? = "95.2",
        blockerStatement: String? = "UPDATE items SET n = 0 WHERE id = 1"
    ) -> [String?] {
        [waiter, blocker, total]
            + [waiterState, "app", "app_user", "api", "Lock", "transactionid", "13", waitSeconds, waiterStatement]
            + [
                blockerState, "app", "app_user", "worker", "Client", "ClientRead", blockerXact, "94.9",
                blockerStatement,
            ]
    }

    static func report(_ edges: [(Int64, Int64)]) -> BlockingReport {
        BlockingReport(edges: edges.map { BlockingReport.Edge(waiter: $0.0, blocker: $0.1) })
    }

    @Test("rows become pairs and sessions, each session once")
    func parsesRows() throws {
        let report = BlockingReport.parse(rows: [
            Self.row("11", "10", total: "3"), Self.row("12", "10", total: "3"), Self.row("13", "11", total: "3"),
        ])
        #expect(report.edges.map(\.waiter) == [11, 12, 13])
        #expect(report.edges.map(\.blocker) == [10, 10, 11])
        #expect(report.dropped == 0 && report.error == nil)
        let blocker = try #require(report.sessions[10])
        #expect(blocker.state == "idle in transaction")
        #expect(blocker.transactionSeconds == 95.2)
        #expect(blocker.statement == "UPDATE items SET n = 0 WHERE id = 1")
        #expect(report.sessions[11]?.state == "active" && report.sessions[11]?.stateSeconds == 12.5)
        #expect(report.sessions[11]?.waitEvent == "transactionid")
    }

    @Test(
        "NULLs, garbage pids, self-blocks, repeats and short rows are skipped and counted",
        arguments: [
            [nil, "10"], ["11", nil], ["abc", "10"], ["-5", "10"], ["0", "10"], ["11", "-1"],
            ["99999999999", "10"], ["11", "11"], ["11", "1e3"],
        ] as [[String?]])
    func skipsBadPids(_ pids: [String?]) {
        let report = BlockingReport.parse(rows: [Self.row(pids[0], pids[1]), Self.row("21", "20")])
        #expect(report.edges == [BlockingReport.Edge(waiter: 21, blocker: 20)])
        #expect(report.dropped == 1)
    }

    @Test("a short row, a repeated pair and an all-NULL row do not crash")
    func oddRows() {
        let allNull = [String?](repeating: nil, count: 21)
        let report = BlockingReport.parse(rows: [[], ["1", "2"], allNull, Self.row("21", "20"), Self.row("21", "20")])
        #expect(report.edges.count == 1)
        #expect(report.dropped == 4)
    }

    @Test("NULL details, negative, NaN and infinite ages; a blocker gone from pg_stat_activity")
    func oddValues() throws {
        var gone = Self.row("31", "30", waiterState: nil, waitSeconds: "-0.002", waiterStatement: nil)
        for index in 12..<21 { gone[index] = nil }
        let report = BlockingReport.parse(rows: [
            gone, Self.row("41", "40", waitSeconds: "NaN", blockerXact: "Infinity"),
            Self.row("51", "0", blockerState: nil, blockerXact: nil, blockerStatement: nil),
        ])
        #expect(report.edges.count == 3)
        #expect(report.sessions[31]?.stateSeconds == 0)
        #expect(report.sessions[31]?.state == nil && report.sessions[31]?.statement == nil)
        #expect(report.sessions[30] == nil)
        #expect(report.sessions[41]?.stateSeconds == nil)
        #expect(report.sessions[40]?.transactionSeconds == nil)
        // Still a tree, the details left empty.
        let trees = BlockingTrees(report)
        #expect(Set(trees.trees.map(\.blocker)) == [0, 30, 40])
        let summary = trees.summary(report) { $0 }
        #expect(summary.hasPrefix("blocked by pid "))
    }

    @Test("huge and non-UTF-8 statements are cut at a character boundary")
    func hugeStatements() throws {
        let huge = String(repeating: "é", count: 1_000_000)
        let broken = String(decoding: [0x55, 0x50, 0xFF, 0xFE, 0xC3] + Array("DATE x".utf8), as: UTF8.self)
        let report = BlockingReport.parse(rows: [
            Self.row("11", "10", waiterStatement: broken, blockerStatement: huge)
        ])
        let statement = try #require(report.sessions[10]?.statement)
        #expect(statement.utf8.count <= BlockingReport.maxStatementBytes)
        #expect(statement.utf8.count >= BlockingReport.maxStatementBytes - 1)
        #expect(statement.allSatisfy { $0 == "é" })
        #expect(report.sessions[11]?.statement == broken)
        // The payload survives a round trip.
        let parsed = try #require(JSONValue.parse(report.payload.encoded()))
        let decoded = try #require(BlockingReport.decode(parsed))
        #expect(decoded == report)
    }

    @Test("past the cap pairs are dropped and counted, with those the server's LIMIT left out")
    func capsEdges() {
        let rows = (1...250).map { Self.row(String(1000 + $0), "1", total: "10000") }
        let report = BlockingReport.parse(rows: rows)
        #expect(report.edges.count == BlockingReport.maxEdges)
        #expect(report.dropped == 10_000 - BlockingReport.maxEdges)
    }

    @Test("malformed payloads are refused; bad pairs inside one are skipped")
    func decodesHostilePayloads() throws {
        for text in ["[]", "{}", "{\"edges\": 3}", "{\"edges\": {}}"] {
            let value = try #require(JSONValue.parse(text))
            #expect(BlockingReport.decode(value) == nil, "\(text)")
        }
        let payload = try #require(
            JSONValue.parse(
                """
                {"edges": [[2, 1], [3], "x", [1.5, 1], [-1, 1], [4, 4], [2, 1], [5, 1e300], [6, 1]],
                 "dropped": -3, "error": null,
                 "sessions": [{"pid": 1, "state": 7, "statement": ["x"], "transaction_seconds": -4},
                              {"pid": "2"}, {"pid": 99, "state": "idle"}, 5]}
                """))
        let report = try #require(BlockingReport.decode(payload))
        #expect(report.edges.map(\.waiter) == [2, 6])
        #expect(report.dropped == 7)
        #expect(report.sessions.keys.sorted() == [1])
        #expect(report.sessions[1]?.state == nil && report.sessions[1]?.transactionSeconds == 0)
        let capped = BlockingReport.decode(
            .object([("edges", .array((1...20_000).map { .array([.number(Double($0 + 1)), .number(1)]) }))]))
        #expect(capped?.edges.count == BlockingReport.maxEdges)
        #expect(capped?.dropped == 20_000 - BlockingReport.maxEdges)
    }

    @Test("a report the agent could not read keeps why, cut, through the payload")
    func unreadable() throws {
        let report = BlockingReport.unreadable(
            "cannot read pg_blocking_pids: permission denied " + String(repeating: "x", count: 100_000))
        #expect((report.error?.utf8.count ?? 0) <= 300)
        let parsed = try #require(JSONValue.parse(report.payload.encoded()))
        let decoded = try #require(BlockingReport.decode(parsed))
        #expect(decoded.error == report.error && decoded.edges.isEmpty)
        let trees = BlockingTrees(decoded)
        #expect(trees.trees.isEmpty)
        #expect(trees.summary(decoded) { $0 }.hasPrefix("blockers unreadable: cannot read pg_blocking_pids"))
    }

    @Test("trees are rooted at blockers that wait on nobody, largest first, nested")
    func buildsTrees() throws {
        // 10 blocks 11, 12; 11 blocks 13; 20 blocks 21; 12 is also blocked by 20.
        let trees = BlockingTrees(Self.report([(11, 10), (12, 10), (13, 11), (21, 20), (12, 20)]))
        #expect(trees.trees.map(\.blocker) == [20, 10] || trees.trees.map(\.blocker) == [10, 20])
        let first = try #require(trees.trees.first)
        #expect(first.blocker == 10 && first.waitingCount == 3 && !first.cycle)
        #expect(first.waiting.map(\.pid) == [11, 12])
        #expect(first.waiting.first?.waiting.map(\.pid) == [13])
        #expect(trees.trees.last?.waiting.map(\.pid) == [12, 21])
        #expect(trees.omitted == 0)
    }

    @Test("circles end: a deadlock, a circle below a root, a self-block")
    func cycles() throws {
        let deadlock = BlockingTrees(Self.report([(1, 2), (2, 3), (3, 1)]))
        #expect(deadlock.trees.count == 1)
        #expect(deadlock.trees.first?.blocker == 1 && deadlock.trees.first?.cycle == true)
        #expect(deadlock.trees.first?.waitingCount == 2)
        let below = BlockingTrees(Self.report([(5, 4), (6, 5), (5, 6), (7, 7)]))
        #expect(below.trees.count == 1)
        #expect(below.trees.first?.blocker == 4 && below.trees.first?.cycle == false)
        #expect(below.trees.first?.waiting.first?.waiting.map(\.pid) == [6])
        #expect(below.trees.first?.waiting.first?.waiting.first?.waiting.isEmpty == true)
    }

    @Test("10 000 pairs: a long chain stops at maxDepth, a wide fan at maxNodes")
    func bounded() throws {
        let chain = BlockingTrees(Self.report((1...10_000).map { (Int64($0 + 1), Int64($0)) }))
        #expect(chain.trees.count == 1)
        var depth = 0
        var node = chain.trees.first?.waiting.first
        while let current = node {
            depth += 1
            node = current.waiting.first
        }
        #expect(depth == BlockingTrees.maxDepth)
        #expect(chain.omitted == 1)
        // Every waiter blocked by each of 100 blockers: no tree explodes past the budget.
        var edges: [(Int64, Int64)] = []
        for blocker in 1...100 { for waiter in 1...100 { edges.append((Int64(1000 + waiter), Int64(blocker))) } }
        let fan = BlockingTrees(Self.report(edges))
        #expect(fan.trees.count == 100)
        #expect(fan.trees.reduce(0) { $0 + $1.waiting.count } == BlockingTrees.maxNodes)
        #expect(fan.omitted == 100 * 100 - BlockingTrees.maxNodes)
    }

    @Test("the alert detail names the blocker, its state, age and statement; viewers see literals masked")
    func alertDetail() throws {
        let report = BlockingReport.parse(rows: [
            Self.row("11", "10", blockerStatement: "UPDATE t SET secret = 'hunter2'"),
            Self.row("12", "10"), Self.row("13", "10"), Self.row("31", "30"),
        ])
        let text = BlockingTrees(report).summary(report, statement: StatementText.forViewer)
        #expect(
            text
                == "blocked by pid 10 (idle in transaction for 95 s: UPDATE t SET secret = '?'), 3 waiting; 1 other blocker"
        )
        #expect(!text.contains("hunter2"))
        #expect(StatementText.maskingLiterals("SELECT E'a\\'b', 'it''s', x") == "SELECT E'?', '?''?', x")
        #expect(BlockingTrees(BlockingReport()).summary(BlockingReport()) { $0 }.isEmpty)

        let rule = try #require(
            try AlertRuleParser.parse(
                yaml:
                    "- name: L\n  metric: m\n  op: '>'\n  threshold: 60\n  detail: postgres_blockers\n  summary: 'waited {{value}} s: {{detail}}'\n",
                file: "t.yaml"
            ).first)
        #expect(rule.detail == .postgresBlockers)
        var engine = AlertEngine()
        let step = engine.evaluate(rule, values: ["h": 61], details: ["h": text], nowMs: 0)
        #expect(step.notify.first?.summary == "waited 61 s: \(text)")
        #expect(engine.needsDetails(rule, values: ["h": 1]))
        #expect(!AlertEngine().needsDetails(rule, values: ["h": 1]))
        #expect(throws: AlertRuleError.self) {
            try AlertRuleParser.parse(
                yaml: "- name: L\n  metric: m\n  op: '>'\n  threshold: 1\n  detail: nope\n  summary: s\n", file: "t")
        }
        let shipped = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>")
        let lockWaits = try #require(shipped.first { $0.name == "PostgresLockWaits" })
        #expect(lockWaits.detail == .postgresBlockers && lockWaits.summary.contains("{{detail}}"))
    }
}
