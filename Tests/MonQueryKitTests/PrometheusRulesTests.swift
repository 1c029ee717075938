import Foundation
import MonCore
import MonQueryKit
import Testing

/// deploy/prometheus/rules.yml says in PromQL what the shipped default rules say: every
/// default rule is an alert there with the same threshold (and comparison), `for:`,
/// severity, hint (as `description`) and metric. The file is read line by line: it is
/// written in one regular shape (`- alert:`, `expr:`, `for:`, `severity:`, `description:`).
@Suite struct PrometheusRulesTests {
    struct PromAlert {
        var expr = ""
        /// Empty without `for:` (0 s).
        var forText = ""
        var severity = ""
        var description = ""
    }

    static func rulesFile() throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../deploy/prometheus/rules.yml").standardized
        return try String(contentsOf: path, encoding: .utf8)
    }

    /// The alerting rules of the file by name (recording rules left out).
    static func alerts(_ text: String) -> [String: PromAlert] {
        var out: [String: PromAlert] = [:]
        var current: String?
        var inExpr = false
        func value(_ line: Substring, _ key: String) -> String? {
            guard line.hasPrefix(key + ":") else { return nil }
            var text = line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 {
                text = String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            return text
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.drop { $0 == " " }
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("- ") {
                inExpr = false
                current = value(line.dropFirst(2), "alert")
                if let current { out[current] = PromAlert() }
                continue
            }
            guard let name = current else { continue }
            if let expr = value(line, "expr") {
                out[name]?.expr = expr == "|" ? "" : expr
                inExpr = expr == "|"
            } else if let text = value(line, "for") {
                out[name]?.forText = text
                inExpr = false
            } else if let text = value(line, "severity") {
                out[name]?.severity = text
            } else if let text = value(line, "description") {
                out[name]?.description = text
            } else if inExpr, !line.contains(":") || line.contains("(") {
                out[name]?.expr += " " + line
            } else {
                inExpr = false
            }
        }
        return out
    }

    /// The first comparison with a number in a PromQL expression: `> 80`, `< 24`.
    static func comparison(_ expr: String) -> (op: String, value: Double)? {
        let tokens = expr.split(separator: " ").map(String.init)
        for (index, token) in tokens.enumerated() where [">", ">=", "<", "<="].contains(token) {
            if index + 1 < tokens.count, let value = Double(tokens[index + 1]) { return (token, value) }
        }
        return nil
    }

    @Test("every default rule is in rules.yml with the same threshold, for, severity, hint and metric")
    func defaultRulesAgree() throws {
        let defaults = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>")
        let alerts = Self.alerts(try Self.rulesFile())
        #expect(Set(alerts.keys) == Set(defaults.map(\.name)), "alerts of rules.yml against the default rules")
        for rule in defaults {
            let alert = try #require(alerts[rule.name], "\(rule.name) is missing from rules.yml")
            let found = Self.comparison(alert.expr)
            #expect(found?.op == rule.comparison.rawValue, "\(rule.name): comparison in '\(alert.expr)'")
            #expect(found?.value == rule.threshold, "\(rule.name): threshold \(rule.threshold) in '\(alert.expr)'")
            let forSeconds = alert.forText.isEmpty ? 0 : try DurationText.seconds(alert.forText, parameter: "for")
            #expect(forSeconds == rule.forSeconds, "\(rule.name): for \(rule.forSeconds) s, rules.yml \(alert.forText)")
            #expect(alert.severity == rule.severity.rawValue, "\(rule.name): severity")
            #expect(alert.description == rule.hint, "\(rule.name): the hint as description")
            switch rule.signal {
            case .metric(let name, let labels, _):
                #expect(alert.expr.contains(name), "\(rule.name): reads \(name)")
                for (key, value) in labels {
                    #expect(alert.expr.contains("\(key)=\"\(value)\""), "\(rule.name): only \(key)=\(value)")
                }
                if rule.scale != 1 {
                    #expect(alert.expr.contains("* \(Thresholds.text(rule.scale))"), "\(rule.name): scaled")
                }
            case .builtin:
                break
            }
            if rule.minRequests > 0, case .builtin(let name) = rule.signal, name.hasPrefix("api_") {
                #expect(alert.expr.contains(">= \(rule.minRequests)"), "\(rule.name): min_requests")
            }
        }
    }

    @Test("the line reader finds a changed threshold (the comparison above is not vacuous)")
    func readerSeesThresholds() throws {
        let text = try Self.rulesFile()
        let changed = text.replacingOccurrences(of: "mon_host_memory_used_ratio * 100 > 80", with: "x * 100 > 81")
        #expect(Self.comparison(Self.alerts(text)["HostMemoryHigh"]?.expr ?? "")?.value == 80)
        #expect(Self.comparison(Self.alerts(changed)["HostMemoryHigh"]?.expr ?? "")?.value == 81)
        #expect(Self.alerts(text)["APIErrorRateHigh"]?.forText == "1m")
    }
}
