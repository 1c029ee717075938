import Foundation

/// A strict reader of Prometheus expositions for the tests: every family declared once by
/// `# TYPE` (no name twice, no family resumed after another began), every sample named by its
/// family with a suffix its type allows, `le` only on histogram buckets, `quantile` only on
/// summaries, `# UNIT` a suffix of the family name and, in OpenMetrics, `# EOF` as the last line.
struct ExpositionParser {
    struct Failure: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    struct Family {
        var type: String?
        var help: String?
        var unit: String?
        var samples = 0
    }

    let openMetrics: Bool
    private(set) var families: [String: Family] = [:]
    private(set) var order: [String] = []

    static func suffixes(of type: String, openMetrics: Bool) -> [String] {
        switch type {
        case "counter": openMetrics ? ["_total", "_created"] : [""]
        case "histogram": ["_bucket", "_count", "_sum", "_created"]
        case "summary": ["", "_count", "_sum", "_created"]
        default: [""]
        }
    }

    static func parse(_ text: String, openMetrics: Bool) throws -> ExpositionParser {
        var parser = ExpositionParser(openMetrics: openMetrics)
        try parser.read(text)
        return parser
    }

    private mutating func read(_ text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" {
            lines.removeLast()
        } else {
            throw Failure(line: lines.count, message: "no final newline")
        }
        if openMetrics {
            guard lines.last == "# EOF" else { throw Failure(line: lines.count, message: "missing # EOF") }
            lines.removeLast()
        }
        var current: String?
        var finished: Set<String> = []
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                guard parts.count >= 3, ["HELP", "TYPE", "UNIT"].contains(parts[1]) else {
                    if openMetrics { throw Failure(line: number, message: "unknown comment: \(line)") }
                    continue
                }
                let name = parts[2]
                if name != current {
                    if let current { finished.insert(current) }
                    guard !finished.contains(name) else {
                        throw Failure(line: number, message: "family \(name) declared twice")
                    }
                    current = name
                }
                switch parts[1] {
                case "TYPE":
                    guard parts.count == 4, families[name]?.type == nil else {
                        throw Failure(line: number, message: "second or empty TYPE for \(name)")
                    }
                    if families[name] == nil { order.append(name) }
                    families[name, default: Family(type: nil)].type = parts[3]
                case "HELP":
                    if families[name] == nil {
                        families[name] = Family(type: nil)
                        order.append(name)
                    }
                    families[name]?.help = parts.count == 4 ? parts[3] : ""
                default:
                    guard parts.count == 4, name.hasSuffix("_" + parts[3]) else {
                        throw Failure(line: number, message: "UNIT of \(name) is not its name's suffix")
                    }
                    families[name]?.unit = parts[3]
                }
                continue
            }
            try sample(line, number: number, current: current)
        }
    }

    private mutating func sample(_ line: String, number: Int, current: String?) throws {
        let nameEnd = line.firstIndex(where: { $0 == "{" || $0 == " " }) ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard let current, let family = families[current] else {
            throw Failure(line: number, message: "sample \(name) outside any declared family")
        }
        let type = family.type ?? "unknown"
        let allowed = Self.suffixes(of: type, openMetrics: openMetrics)
        guard allowed.contains(where: { current + $0 == name }) else {
            throw Failure(line: number, message: "sample \(name) does not belong to \(type) \(current)")
        }
        var labels: [String] = []
        if line[nameEnd...].hasPrefix("{") {
            // Label names: after `{` or `,` up to `=`, outside quoted values.
            var quoted = false
            var escaped = false
            var label = ""
            for character in line[line.index(after: nameEnd)...] {
                if quoted {
                    if escaped {
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        quoted = false
                    }
                    continue
                }
                if character == "}" { break }
                if character == "\"" {
                    quoted = true
                } else if character == "=" {
                    labels.append(label)
                    label = ""
                } else if character != "," {
                    label.append(character)
                }
            }
        }
        guard Set(labels).count == labels.count else { throw Failure(line: number, message: "label repeated: \(line)") }
        if labels.contains("le"), !(type == "histogram" && name == current + "_bucket") {
            throw Failure(line: number, message: "`le` on \(type) \(name)")
        }
        if labels.contains("quantile"), type != "summary" {
            throw Failure(line: number, message: "`quantile` on \(type) \(name)")
        }
        families[current]?.samples += 1
    }
}
