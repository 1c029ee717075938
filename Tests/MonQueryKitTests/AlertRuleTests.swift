import Foundation
import MonCore
import MonQueryKit
import Testing

@Suite struct AlertRuleTests {
    static func rule(_ yaml: String) throws -> AlertRule {
        try #require(try AlertRuleParser.parse(yaml: yaml, file: "t.yaml").first)
    }

    @Test("the shipped rules parse and carry every threshold of the product brief")
    func defaults() throws {
        let rules = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>")
        let byName = Dictionary(uniqueKeysWithValues: rules.map { ($0.name, $0) })
        let expected: [(String, AlertRule.Comparison, Double)] = [
            ("RedisHitRateLow", .below, 70), ("RedisMemoryHigh", .above, 80), ("RedisEvictions", .above, 100),
            ("PostgresSlowQueries", .above, 10), ("PostgresCacheHitLow", .below, 95),
            ("PostgresConnectionsHigh", .above, 80), ("HostCPUHigh", .above, 80), ("HostMemoryHigh", .above, 80),
            ("APIErrorRateHigh", .above, 5), ("APILatencyP95High", .above, 1000), ("AgentSilent", .above, 3),
            ("IngestLagHigh", .above, 30), ("FilesystemAlmostFull", .above, 90),
            ("PostgresLockWaits", .above, 60), ("PostgresIdleInTransaction", .above, 300),
            ("FilesystemFullSoon", .below, 24), ("RedisConnectionsRejected", .above, 0),
        ]
        #expect(rules.count == expected.count)
        for (name, comparison, threshold) in expected {
            let rule = try #require(byName[name], "\(name) missing")
            #expect(rule.comparison == comparison && rule.threshold == threshold, "\(name)")
            #expect(!rule.hint.isEmpty, "\(name) has a hint")
        }
        #expect(byName["RedisEvictions"]?.windowSeconds == 3600)
        let fullSoon = try #require(byName["FilesystemFullSoon"])
        #expect(fullSoon.signal == .builtin("filesystem_hours_to_full") && fullSoon.windowSeconds == 3600)
        #expect(fullSoon.forSeconds == 300 && fullSoon.severity == .warning && fullSoon.hint.contains("/system/disk"))
        #expect(fullSoon.scalingFor(by: 0.01).forSeconds == 3, "alerts.for_scale shortens its 'for' like the others")
        #expect(
            fullSoon.render(value: 5.5, host: "h1", labels: "mountpoint=/data")
                == "File system mountpoint=/data on h1 full in 5.50 h at the last hour's rate (< 24 h)")
        #expect(
            byName["HostCPUHigh"]?.signal
                == .metric(name: "mon_host_cpu_usage_ratio", labels: ["cpu": "all"], aggregate: .avg))
    }

    @Test(
        "invalid rules are refused with the file, the line and the reason",
        arguments: [
            (
                "- name: a\n  metric: m\n  op: '>'\n  threshold: 1\n  summary: s\n  colour: red\n", "t.yaml:6",
                "unknown key 'colour'"
            ),
            ("- name: a\n  metric: m\n  op: '=>'\n  threshold: 1\n  summary: s\n", "t.yaml:3", "op '=>'"),
            ("- name: a\n  metric: m\n  op: '>'\n  summary: s\n", "t.yaml:1", "'threshold' is required"),
            ("- name: a\n  metric: m\n  op: '>'\n  threshold: x\n  summary: s\n", "t.yaml:4", "not a number"),
            (
                "- name: a\n  metric: m\n  op: '>'\n  threshold: 10\n  resolve: 12\n  summary: s\n", "t.yaml",
                "alerting side"
            ),
            ("- name: a\n  signal: nope\n  op: '>'\n  threshold: 1\n  summary: s\n", "t.yaml:2", "signal 'nope'"),
            (
                "- name: a\n  metric: m\n  signal: agent_silence_intervals\n  op: '>'\n  threshold: 1\n  summary: s\n",
                "t.yaml:1", "not both"
            ),
            ("- name: a\n  metric: m\n  op: '>'\n  threshold: 1\n  summary: s\n  window: 9y\n", "t.yaml:6", "window"),
            ("- name: a b\n  metric: m\n  op: '>'\n  threshold: 1\n  summary: s\n", "t.yaml:1", "name 'a b'"),
            (
                "- name: a\n  metric: m\n  aggregate: median\n  op: '>'\n  threshold: 1\n  summary: s\n", "t.yaml:3",
                "aggregate 'median'"
            ),
            ("rules: 3\n", "t.yaml:1", "expected a list"),
            ("- [1, 2]\n", "t.yaml:1", "must be a mapping"),
        ])
    func invalid(yaml: String, origin: String, reason: String) {
        do {
            _ = try AlertRuleParser.parse(yaml: yaml, file: "t.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.origin.hasPrefix(origin), "\(error)")
            #expect(error.message.contains(reason), "\(error)")
        }
    }

    @Test("a later rule of the same name replaces the default one")
    func merge() throws {
        let defaults = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "d")
        let custom = try AlertRuleParser.parse(
            yaml:
                "rules:\n  - name: HostCPUHigh\n    metric: mon_host_cpu_usage_ratio\n    op: '>'\n    threshold: 0.5\n    summary: s\n",
            file: "c")
        let merged = AlertRuleParser.merge([defaults, custom])
        #expect(merged.count == defaults.count)
        #expect(merged.first { $0.name == "HostCPUHigh" }?.threshold == 0.5)
    }

    @Test("pending, then firing after 'for'; hysteresis; repeat; a pending alert that clears is dropped")
    func stateMachine() throws {
        let rule = try Self.rule(
            """
            - name: Hot
              metric: t
              op: ">"
              threshold: 80
              resolve: 70
              for: 10s
              repeat: 60s
              severity: critical
              summary: "t {{value}} on {{host}} > {{threshold}}"
              hint: cool it
            """)
        var engine = AlertEngine()
        var step = engine.evaluate(rule, values: ["a": 90, "b": 50], nowMs: 0)
        #expect(step.transitions.map(\.state) == [.pending])
        #expect(step.notify.isEmpty)
        step = engine.evaluate(rule, values: ["a": 95], nowMs: 5000)
        #expect(step.transitions.isEmpty)
        step = engine.evaluate(rule, values: ["a": 85], nowMs: 10_000)
        #expect(step.transitions.map(\.state) == [.firing])
        #expect(step.notify.map(\.summary) == ["t 85 on a > 80"])
        #expect(step.notify.first?.hint == "cool it")
        // Below the threshold but above resolve: still firing (hysteresis).
        step = engine.evaluate(rule, values: ["a": 75], nowMs: 20_000)
        #expect(step.transitions.isEmpty)
        #expect(engine.active.values.first?.state == .firing)
        // No data: still firing.
        step = engine.evaluate(rule, values: [:], nowMs: 30_000)
        #expect(step.transitions.isEmpty && engine.active.count == 1)
        // Repeat after 60 s.
        step = engine.evaluate(rule, values: ["a": 90], nowMs: 70_000)
        #expect(step.transitions.isEmpty && step.notify.count == 1)
        step = engine.evaluate(rule, values: ["a": 60], nowMs: 80_000)
        #expect(step.transitions.map(\.state) == [.resolved])
        #expect(step.notify.map(\.state) == [.resolved])
        #expect(engine.active.isEmpty)
        // Pending, then clears before 'for': dropped as inactive.
        _ = engine.evaluate(rule, values: ["b": 81], nowMs: 90_000)
        step = engine.evaluate(rule, values: ["b": 10], nowMs: 95_000)
        #expect(step.transitions.map(\.state) == [.inactive])
        #expect(engine.active.isEmpty)
    }

    @Test("'for: 0' fires at once; a 'below' rule resolves above its resolve threshold")
    func immediateAndBelow() throws {
        let rule = try Self.rule(
            "- name: Low\n  metric: r\n  op: '<'\n  threshold: 70\n  resolve: 75\n  summary: '{{value}}'\n")
        var engine = AlertEngine()
        let first = engine.evaluate(rule, values: ["h": 50.5], nowMs: 0)
        #expect(first.transitions.map(\.state) == [.pending, .firing])
        #expect(first.notify.first?.summary == "50.50")
        #expect(engine.evaluate(rule, values: ["h": 72], nowMs: 1).transitions.isEmpty)
        #expect(engine.evaluate(rule, values: ["h": 76], nowMs: 2).transitions.map(\.state) == [.resolved])
    }

    @Test("a rule removed by a reload: its firing alert resolves (notified), its pending one becomes inactive")
    func retireRemovedRules() throws {
        let firing = try Self.rule("- name: Hot\n  metric: r\n  op: '>'\n  threshold: 70\n  summary: '{{value}}'\n")
        let slow = try Self.rule(
            "- name: Slow\n  metric: r\n  op: '>'\n  threshold: 70\n  for: 60s\n  summary: '{{value}}'\n")
        var engine = AlertEngine()
        _ = engine.evaluate(firing, values: ["a": 90], nowMs: 1)
        _ = engine.evaluate(slow, values: ["b": 90], nowMs: 1)
        #expect(engine.retire(keeping: ["Hot", "Slow"], nowMs: 2).transitions.isEmpty)
        let ended = engine.retire(keeping: [], nowMs: 3)
        #expect(ended.transitions.map { "\($0.rule) \($0.host) \($0.state)" } == ["Hot a resolved", "Slow b inactive"])
        #expect(ended.transitions.allSatisfy { $0.timestampMs == 3 })
        #expect(ended.notify.map { "\($0.rule) \($0.state)" } == ["Hot resolved"])
        #expect(engine.active.isEmpty)
    }

    @Test("{{labels}} names the series that gave each host's value; empty without labels")
    func labelsPlaceholder() throws {
        let rule = try Self.rule(
            "- name: Full\n  signal: filesystem_hours_to_full\n  op: '<'\n  threshold: 24\n"
                + "  summary: '{{labels}} on {{host}}: {{value}} h'\n")
        var engine = AlertEngine()
        let step = engine.evaluate(
            rule, values: ["a": 2, "b": 3], labels: ["a": AlertRule.labelsText(["mountpoint": "/data"])], nowMs: 0)
        #expect(step.notify.map(\.summary) == ["mountpoint=/data on a: 2 h", " on b: 3 h"])
        #expect(AlertRule.labelsText(["mountpoint": "/", "device": "/dev/sda1"]) == "device=/dev/sda1,mountpoint=/")
    }

    @Test("webhook body has the Alertmanager shape")
    func webhookPayload() throws {
        let alert = AlertEngine.Active(
            rule: "Hot", host: "h1", severity: .critical, state: .firing, sinceMs: 0, firingSinceMs: 1000, value: 91,
            threshold: 80, summary: "s", hint: "h")
        let json = try #require(
            try JSONSerialization.jsonObject(
                with: Data(AlertmanagerPayload.body([alert], externalURL: "http://x").encoded().utf8)) as? [String: Any]
        )
        #expect(json["version"] as? String == "4")
        #expect(json["status"] as? String == "firing")
        let alerts = try #require(json["alerts"] as? [[String: Any]])
        let first = try #require(alerts.first)
        let labels = try #require(first["labels"] as? [String: String])
        #expect(labels == ["alertname": "Hot", "severity": "critical", "host": "h1"])
        let annotations = try #require(first["annotations"] as? [String: String])
        #expect(annotations["summary"] == "s")
        let startsAt = first["startsAt"] as? String
        let endsAt = first["endsAt"] as? String
        #expect(startsAt == "1970-01-01T00:00:01Z")
        #expect(endsAt == "0001-01-01T00:00:00Z")
    }
}
