import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The trace tree the trace API and page show: order, depth, self time, critical path, and
/// what odd stored spans become.
@Suite struct TraceTreeTests {
    static func span(
        _ id: String, _ parent: String? = nil, start: Int64, duration: Int64, kind: String = "internal",
        attributes: String = "{}"
    ) -> TraceSpan {
        TraceSpan(
            spanID: id, parentSpanID: parent, service: "svc", name: "op-\(id)", kind: kind, startNs: start,
            durationNs: duration, attributes: attributes)
    }

    @Test("a request: server root, Redis then PostgreSQL children; self time, depth-first order, critical path")
    func request() {
        // root 0..100, redis 10..20, pg 30..70 with a nested fetch 40..90 (outside pg's end).
        let tree = TraceTree([
            Self.span("pg", "root", start: 30, duration: 40),
            Self.span("root", start: 0, duration: 100, kind: "server"),
            Self.span("fetch", "pg", start: 40, duration: 50),
            Self.span("redis", "root", start: 10, duration: 10),
        ])
        #expect(tree.nodes.map(\.span.spanID) == ["root", "redis", "pg", "fetch"])
        #expect(tree.nodes.map(\.depth) == [0, 1, 1, 2])
        let selfTimes: [Int64] = [100 - 10 - 40, 10, 40 - 30, 50]
        #expect(tree.nodes.map(\.selfTimeNs) == selfTimes)
        #expect(tree.nodes[2].parent == 0 && tree.nodes[3].parent == 2)
        #expect(tree.criticalPath == ["root", "redis", "pg", "fetch"])
        #expect(tree.nodes.filter(\.onCriticalPath).count == 4)
        #expect(tree.startNs == 0 && tree.endNs == 100 && tree.durationNs == 100)
        #expect(tree.duplicates == 0 && tree.root == 0)
    }

    @Test("overlapping children count once in the parent's self time; children outside it are clipped")
    func overlapAndClip() {
        let tree = TraceTree([
            Self.span("p", start: 100, duration: 100),
            Self.span("a", "p", start: 110, duration: 40),  // 110..150
            Self.span("b", "p", start: 130, duration: 40),  // 130..170: overlaps a
            Self.span("c", "p", start: 50, duration: 70),  // 50..120: starts before the parent
            Self.span("d", "p", start: 190, duration: 100),  // 190..290: ends after it
            Self.span("e", "p", start: 300, duration: 10),  // wholly outside
        ])
        // Covered: 100..170 (70) and 190..200 (10).
        #expect(tree.nodes.first { $0.span.spanID == "p" }?.selfTimeNs == 20)
        #expect(tree.nodes.first { $0.span.spanID == "e" }?.selfTimeNs == 10)
        #expect(tree.startNs == 50 && tree.endNs == 310)
        // The last-ending child within the parent (d, clipped at 200), then the last ending
        // before d starts (b), before b (a, clipped at 130), before a (c); never e (after p).
        #expect(tree.criticalPath == ["p", "c", "a", "b", "d"])
    }

    @Test("a parent not in the trace: the span is a root, flagged; the real root is the trace's root")
    func missingParent() {
        let tree = TraceTree([
            Self.span("root", start: 0, duration: 10),
            Self.span("orphan", "ffffffffffffffff", start: 5, duration: 20),
            Self.span("child", "orphan", start: 6, duration: 2),
        ])
        #expect(tree.nodes.map(\.span.spanID) == ["root", "orphan", "child"])
        #expect(tree.nodes.map(\.missingParent) == [false, true, false])
        #expect(tree.nodes.map(\.depth) == [0, 0, 1])
        #expect(tree.root == 0 && tree.criticalPath == ["root"])
    }

    @Test("only orphans: the earliest is the root")
    func noRoot() {
        let tree = TraceTree([
            Self.span("b", "x", start: 5, duration: 1), Self.span("a", "y", start: 1, duration: 1),
        ])
        #expect(tree.root.map { tree.nodes[$0].span.spanID } == "a")
        #expect(tree.nodes.allSatisfy { $0.missingParent })
    }

    @Test("a parent cycle (and a span its own parent) is cut at its earliest span; nothing is lost")
    func cycles() {
        let tree = TraceTree([
            Self.span("a", "c", start: 10, duration: 5),
            Self.span("b", "a", start: 11, duration: 3),
            Self.span("c", "b", start: 12, duration: 1),
            Self.span("self", "self", start: 20, duration: 1),
            Self.span("root", start: 0, duration: 30),
        ])
        #expect(tree.nodes.count == 5)
        #expect(Set(tree.nodes.map(\.span.spanID)) == ["a", "b", "c", "self", "root"])
        let a = tree.nodes.first { $0.span.spanID == "a" }
        #expect(a?.inCycle == true && a?.depth == 0 && a?.parent == nil)
        #expect(tree.nodes.first { $0.span.spanID == "c" }?.depth == 2)
        // A span naming itself as parent is a root whose parent is missing (not itself).
        let own = tree.nodes.first { $0.span.spanID == "self" }
        #expect(own?.parent == nil && own?.missingParent == true)
        #expect(tree.root.map { tree.nodes[$0].span.spanID } == "root")
    }

    @Test("a span id stored twice keeps the earliest row and counts the other")
    func duplicates() {
        let tree = TraceTree([
            Self.span("root", start: 0, duration: 10),
            Self.span("x", "root", start: 5, duration: 1),
            Self.span("x", "root", start: 2, duration: 1),
            Self.span("root", start: 0, duration: 99),
        ])
        #expect(tree.nodes.count == 2 && tree.duplicates == 2)
        #expect(tree.nodes[1].span.startNs == 2)
        #expect(tree.nodes[0].span.durationNs == 10)
    }

    @Test("10 000 spans: a chain (no recursion) and a wide fan-out")
    func large() {
        var chain: [TraceSpan] = []
        for index in 0..<10_000 {
            chain.append(
                Self.span(
                    String(format: "%016x", index + 1), index == 0 ? nil : String(format: "%016x", index),
                    start: Int64(index), duration: Int64(20_000 - 2 * index)))
        }
        let deep = TraceTree(chain.reversed())
        #expect(deep.nodes.count == 10_000 && deep.maxDepth == 9_999)
        #expect(deep.criticalPath.count == 10_000)
        #expect(deep.nodes.allSatisfy { $0.selfTimeNs == 2 })

        var wide = [Self.span("root", start: 0, duration: 1_000_000)]
        for index in 0..<9_999 {
            wide.append(Self.span("c\(index)", "root", start: Int64(index * 100), duration: 100))
        }
        let fan = TraceTree(wide)
        #expect(fan.nodes.count == 10_000 && fan.maxDepth == 1)
        #expect(fan.nodes[0].selfTimeNs == 1_000_000 - 999_900)
        #expect(fan.criticalPath.count == 10_000)
    }

    @Test("empty input, zero and absurd durations")
    func edges() {
        let empty = TraceTree([])
        #expect(empty.nodes.isEmpty && empty.root == nil && empty.criticalPath.isEmpty && empty.durationNs == 0)
        let tree = TraceTree([
            Self.span("r", start: Int64.max - 10, duration: Int64.max),
            Self.span("z", "r", start: Int64.max - 5, duration: 0),
        ])
        #expect(tree.nodes.count == 2)
        #expect(tree.endNs == Int64.max)
        #expect(tree.nodes[1].selfTimeNs == 0)
    }

    @Test("waterfall: one bar per span, critical path outlined, DB / Redis / HTTP coloured, self time in the tooltip")
    func waterfall() {
        let tree = TraceTree([
            Self.span("root", start: 0, duration: 100, kind: "server"),
            Self.span("redis", "root", start: 10, duration: 10, kind: "client", attributes: #"{"db.system":"redis"}"#),
            Self.span(
                "pg", "root", start: 30, duration: 40, kind: "client", attributes: #"{"db.system":"postgresql"}"#),
            Self.span(
                "http", "root", start: 75, duration: 5, kind: "client",
                attributes: #"{"http.request.method":"GET"}"#),
            Self.span("evil", "root", start: 80, duration: 1, attributes: #"{"x":"</svg><script>"}"#),
        ])
        let html = TraceWaterfall.render(tree).text
        #expect(html.components(separatedBy: "class=\"span-bar").count - 1 == 5)
        #expect(html.contains("cat-redis") && html.contains("cat-db") && html.contains("cat-http"))
        #expect(html.contains("cat-server critical"))
        #expect(html.contains("self"))
        #expect(!html.contains("<script>"))
        #expect(TraceWaterfall.category(tree.nodes[0].span) == .server)
    }
}

/// Where the waterfall puts its labels: nothing drawn over a bar's edge or under the bars.
@Suite struct TraceWaterfallLabelTests {
    /// The x, anchor and fill of the duration text of every bar, in row order.
    static func durations(_ html: String) -> [(x: Double, anchor: String, fill: String)] {
        html.components(separatedBy: "<text class=\"span-duration\" x=\"").dropFirst().map { rest in
            let x = Double(rest.prefix { $0 != "\"" }) ?? -1
            let anchor = rest.components(separatedBy: "text-anchor=\"").dropFirst().first?.prefix { $0 != "\"" } ?? ""
            let fill = rest.components(separatedBy: "fill=\"").dropFirst().first?.prefix { $0 != "\"" } ?? ""
            return (x, String(anchor), String(fill))
        }
    }

    @Test(
        "the root's duration goes inside its bar in white; a thin bar at the end gets it on its left; others on the right"
    )
    func durationPlacement() {
        let tree = TraceTree([
            TraceTreeTests.span("root", start: 0, duration: 22_000_000, kind: "server"),
            TraceTreeTests.span("mid", "root", start: 2_000_000, duration: 8_000_000),
            TraceTreeTests.span("tail", "root", start: 21_900_000, duration: 20_000),
        ])
        let placed = Self.durations(TraceWaterfall.render(tree).text)
        #expect(placed.count == 3)
        let chartEnd = TraceWaterfall.width - 10
        #expect(
            placed[0].anchor == "end" && placed[0].fill == "#fff" && placed[0].x < chartEnd, "inside the root's bar")
        #expect(placed[1].anchor == "start" && placed[1].fill == "#555", "right of a bar with room after it")
        let tailStart = TraceWaterfall.labelWidth + 21_900_000 / 22_000_000 * (chartEnd - TraceWaterfall.labelWidth)
        #expect(placed[2].anchor == "end" && placed[2].x < tailStart, "left of a thin bar at the end")
    }

    @Test("a long name at depth is cut to the label column, whatever the depth")
    func namesStayInTheirColumn() {
        var spans = [TraceTreeTests.span("d0", start: 0, duration: 100)]
        for depth in 1...20 {
            spans.append(TraceTreeTests.span("d\(depth)", "d\(depth - 1)", start: Int64(depth), duration: 10))
        }
        spans = spans.map { span in
            var long = span
            long.name = String(repeating: "x", count: 80)
            return long
        }
        let html = TraceWaterfall.render(TraceTree(spans)).text
        let labels = html.components(separatedBy: "<text x=\"").dropFirst().map { rest -> (Double, Int) in
            let x = Double(rest.prefix { $0 != "\"" }) ?? -1
            let text = rest.components(separatedBy: ">").dropFirst().first?.prefix { $0 != "<" } ?? ""
            return (x, text.count)
        }.filter { $0.0 < TraceWaterfall.labelWidth && $0.1 > 3 }
        #expect(labels.count == 21)
        for (x, count) in labels {
            #expect(x + Double(count) * TraceWaterfall.nameCharWidth <= TraceWaterfall.labelWidth, "\(x) \(count)")
        }
    }
}

@Suite struct SpanRetentionConfigTests {
    @Test("storage.spans_retention_days defaults to storage.logs_retention_days, and can differ")
    func spansRetention() throws {
        func days(_ yaml: String) throws -> Int? {
            try QueryConfig(source: ConfigSource(yaml: yaml, envPrefix: "MONQUERY", environment: [:])).retention.days[
                "spans"]
        }
        #expect(try days("") == 7)
        #expect(try days("storage:\n  logs_retention_days: 12\n") == 12)
        #expect(try days("storage:\n  logs_retention_days: 12\n  spans_retention_days: 3\n") == 3)
        #expect(throws: (any Error).self) { try days("storage:\n  spans_retention_days: 0\n") }
    }
}
