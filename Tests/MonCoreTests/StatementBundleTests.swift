import Testing

@testable import MonCore

/// The daemon's side of `pg_statements` bundles: expanded into the `pg_statement` events
/// older agents send one by one (those pass as they are).
@Suite struct StatementBundleTests {
    private static let old = Event(
        kind: "pg_statement", key: "5:42", timestampMs: 1_000,
        payload: #"{"queryid":"42","dbid":5,"calls":2,"reset":false,"query":null}"#)

    @Test func oldPerStatementEventsPassUnchanged() {
        let events = [Self.old, Event(kind: "redis_slowlog", key: "1", timestampMs: 1_000, payload: "{}")]
        var malformed = 0
        #expect(StatementBundle.expanding(events, malformed: &malformed) == events)
        #expect(malformed == 0)
    }

    @Test func aBundleExpandsIntoItsStatementsInPlace() {
        let bundle = Event(
            kind: "pg_statements", key: "", timestampMs: 2_000,
            payload: #"""
                {"columns":["key","queryid","dbid","calls","reset","query"],
                 "rows":[["5:42","42",5,2,false,null],["5:43","43",5,1e+300,true,"SELECT \"a\"\n"]]}
                """#)
        let slowlog = Event(kind: "redis_slowlog", key: "1", timestampMs: 2_000, payload: "{}")
        var malformed = 0
        let expanded = StatementBundle.expanding([Self.old, bundle, slowlog], malformed: &malformed)
        #expect(malformed == 0)
        #expect(
            expanded == [
                Self.old,
                Event(
                    kind: "pg_statement", key: "5:42", timestampMs: 2_000,
                    payload: #"{"queryid":"42","dbid":5,"calls":2,"reset":false,"query":null}"#),
                Event(
                    kind: "pg_statement", key: "5:43", timestampMs: 2_000,
                    payload: #"{"queryid":"43","dbid":5,"calls":1e+300,"reset":true,"query":"SELECT \"a\"\n"}"#),
                slowlog,
            ])
    }

    @Test(arguments: [
        "not json", "[]", #"{"rows":[]}"#, #"{"columns":["queryid"],"rows":[["1"]]}"#,
        #"{"columns":["key","calls"],"rows":[["5:1",1,2]]}"#, #"{"columns":["key","calls"],"rows":[[5,1]]}"#,
        #"{"columns":["key",7],"rows":[]}"#, #"{"columns":["key","calls"],"rows":["5:1"]}"#,
    ])
    func aMalformedBundleIsCountedAndLeftOut(_ payload: String) {
        let bundle = Event(kind: "pg_statements", key: "", timestampMs: 1, payload: payload)
        var malformed = 0
        #expect(StatementBundle.expanding([bundle, Self.old], malformed: &malformed) == [Self.old])
        #expect(malformed == 1)
    }
}
