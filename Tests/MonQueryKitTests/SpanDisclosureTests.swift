import Testing

@testable import MonCore
@testable import MonQueryKit

/// What a viewer token sees of a span's attributes and events.
@Suite struct SpanDisclosureTests {
    @Test("the operation's attributes pass, in their order; statements, URLs, users and messages are held back")
    func attributes() throws {
        let stored = try JSONParser.parse(
            #"{"db.system":"postgresql","db.statement":"SELECT 'x'","http.route":"/u/{id}","url.full":"http://h/u/1?token=t","enduser.id":"1","http.request.method":"GET"}"#
                .utf8)
        let (shown, hidden) = SpanDisclosure.viewerAttributes(stored)
        #expect(shown.encoded() == #"{"db.system":"postgresql","http.route":"/u/{id}","http.request.method":"GET"}"#)
        #expect(hidden == 3)
    }

    @Test("anything but an object shows nothing; an empty object hides nothing")
    func oddAttributes() throws {
        #expect(SpanDisclosure.viewerAttributes(.array([.string("db.system")])).shown == .object([]))
        #expect(SpanDisclosure.viewerAttributes(.string("x")).hidden == 0)
        #expect(SpanDisclosure.viewerAttributes(.object([])).hidden == 0)
        // A key that only starts like an allowed one is not allowed.
        let prefixed = JSONValue.object([("db.system.secret", .string("s")), ("http.route ", .string("r"))])
        #expect(SpanDisclosure.viewerAttributes(prefixed) == (.object([]), 2))
    }

    @Test("events keep their name and time; their attributes pass the same list; odd entries are emptied and counted")
    func events() throws {
        let stored = try JSONParser.parse(
            #"[{"name":"exception","time_unix_nano":5,"attributes":{"exception.type":"KeyError","exception.message":"alice","exception.stacktrace":"..."}},{"name":"retry","time_unix_nano":6},"not an event"]"#
                .utf8)
        let (shown, hidden) = SpanDisclosure.viewerEvents(stored)
        #expect(
            shown.encoded()
                == #"[{"name":"exception","time_unix_nano":5,"attributes":{"exception.type":"KeyError"}},{"name":"retry","time_unix_nano":6},{}]"#
        )
        #expect(hidden == 3)
        #expect(SpanDisclosure.viewerEvents(.object([])) == (.array([]), 0))
    }
}
