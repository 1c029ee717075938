import Foundation
import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// Unit tests of the pure logic behind the PostgreSQL source: statement deltas, the slow
/// statement window, plan advice, statement classification, and the JSON/array helpers.
///
/// `Fixtures/postgres/plan-*.json` are verbatim `EXPLAIN (FORMAT JSON) EXECUTE q(NULL)` outputs
/// of PostgreSQL 15.18 with `plan_cache_mode = force_generic_plan`, over
/// `big(id serial primary key, payload text, category int)` (200 000 rows, 21 438 464 bytes,
/// ANALYZEd) and `small_cat(id int primary key, name text)` (1 000 rows).
@Suite struct PostgresLogicTests {}

/// Access to `Fixtures/postgres`.
private enum PostgresFixtures {
    struct MissingFixture: Error, CustomStringConvertible {
        var name: String
        var description: String { "fixture not found: Fixtures/postgres/\(name)" }
    }

    /// `pg_total_relation_size('big')` of the captured database.
    static let bigTableBytes: Double = 21_438_464

    static func text(_ name: String) throws -> String {
        try Fixtures.text("postgres/\(name)")
    }
}

private func key(_ queryid: Int64, dbid: Int64 = 16_384, userid: Int64 = 10) -> StatementKey {
    StatementKey(dbid: dbid, userid: userid, queryid: queryid)
}

private func counters(
    calls: Double,
    totalMs: Double,
    maxMs: Double = 0,
    rows: Double = 0,
    hit: Double = 0,
    read: Double = 0
) -> StatementCounters {
    StatementCounters(calls: calls, totalMs: totalMs, maxMs: maxMs, rows: rows, sharedHit: hit, sharedRead: read)
}

private func isNeverNegative(_ delta: StatementDelta) -> Bool {
    delta.calls >= 0 && delta.totalMs >= 0 && delta.rows >= 0 && delta.sharedHit >= 0 && delta.sharedRead >= 0
        && delta.maxMsSinceReset >= 0 && delta.meanMs >= 0
}

extension PostgresLogicTests {
    @Suite struct StatementDeltaTests {
        @Test("The first reading only sets the baseline")
        func firstReadingIsBaseline() {
            var deltas = StatementDeltas()
            let first = deltas.update([key(1): counters(calls: 100, totalMs: 5_000)], resetMarker: "t0")
            #expect(first.isEmpty)
            #expect(deltas.isKnown(key(1)))
            #expect(!deltas.isKnown(key(2)))
        }

        @Test("An empty first reading still primes: the next reading counts entries in full")
        func emptyFirstReadingPrimes() throws {
            var deltas = StatementDeltas()
            #expect(deltas.update([:]).isEmpty)
            let second = deltas.update([key(1): counters(calls: 2, totalMs: 8)])
            let delta = try #require(second.first)
            #expect(second.count == 1)
            #expect(delta.calls == 2)
            #expect(delta.totalMs == 8)
            #expect(!delta.reset)
        }

        @Test("Each field is the difference between two readings")
        func deltasBetweenReadings() throws {
            var deltas = StatementDeltas()
            _ = deltas.update(
                [key(1): counters(calls: 10, totalMs: 100, maxMs: 30, rows: 20, hit: 500, read: 7)],
                resetMarker: "t0"
            )
            let result = deltas.update(
                [key(1): counters(calls: 15, totalMs: 160, maxMs: 42, rows: 30, hit: 540, read: 9)],
                resetMarker: "t0"
            )
            #expect(
                result == [
                    StatementDelta(
                        key: key(1),
                        calls: 5,
                        totalMs: 60,
                        rows: 10,
                        sharedHit: 40,
                        sharedRead: 2,
                        maxMsSinceReset: 42,
                        reset: false
                    )
                ]
            )
            #expect(result.first?.meanMs == 12)
        }

        @Test("An entry new since the previous reading counts in full")
        func newEntryCountsInFull() throws {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1): counters(calls: 10, totalMs: 100)])
            #expect(!deltas.isKnown(key(2)))
            let result = deltas.update([
                key(1): counters(calls: 10, totalMs: 100),
                key(2): counters(calls: 4, totalMs: 80, maxMs: 50, rows: 4, hit: 12, read: 3),
            ])
            let delta = try #require(result.first)
            #expect(result.count == 1)
            #expect(delta.key == key(2))
            #expect(delta.calls == 4)
            #expect(delta.totalMs == 80)
            #expect(delta.rows == 4)
            #expect(delta.sharedHit == 12)
            #expect(delta.sharedRead == 3)
            #expect(delta.maxMsSinceReset == 50)
            #expect(!delta.reset)
            #expect(deltas.isKnown(key(2)))
        }

        struct ResetCase: Sendable, CustomTestStringConvertible {
            var testDescription: String
            var before: StatementCounters
            var after: StatementCounters
        }

        static let resetCases: [ResetCase] = [
            ResetCase(
                testDescription: "calls and total went down",
                before: counters(calls: 100, totalMs: 1_000, maxMs: 90, rows: 500, hit: 900, read: 100),
                after: counters(calls: 3, totalMs: 30, maxMs: 12, rows: 6, hit: 9, read: 1)
            ),
            ResetCase(
                testDescription: "only total went down",
                before: counters(calls: 100, totalMs: 1_000, maxMs: 90, rows: 500, hit: 900, read: 100),
                after: counters(calls: 120, totalMs: 50, maxMs: 3, rows: 120, hit: 30, read: 0)
            ),
            ResetCase(
                testDescription: "only calls went down, other counters higher",
                before: counters(calls: 100, totalMs: 1_000, maxMs: 90, rows: 5, hit: 9, read: 1),
                after: counters(calls: 2, totalMs: 1_500, maxMs: 1_400, rows: 50, hit: 90, read: 10)
            ),
            ResetCase(
                testDescription: "counters went down but rows and blocks did not",
                before: counters(calls: 100, totalMs: 1_000, maxMs: 90, rows: 0, hit: 0, read: 0),
                after: counters(calls: 1, totalMs: 10, maxMs: 10, rows: 7, hit: 8, read: 9)
            ),
        ]

        @Test("A counter going down counts since the reset and is flagged", arguments: resetCases)
        func entryReset(_ reset: ResetCase) throws {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1): reset.before], resetMarker: "t0")
            let result = deltas.update([key(1): reset.after], resetMarker: "t0")
            let delta = try #require(result.first)
            #expect(result.count == 1)
            #expect(delta.reset)
            #expect(isNeverNegative(delta))
            #expect(delta.calls == reset.after.calls)
            #expect(delta.totalMs == reset.after.totalMs)
            #expect(delta.rows == reset.after.rows)
            #expect(delta.sharedHit == reset.after.sharedHit)
            #expect(delta.sharedRead == reset.after.sharedRead)
            #expect(delta.maxMsSinceReset == reset.after.maxMs)
        }

        @Test("A reset entry with no call since the reset yields nothing")
        func resetWithoutCalls() {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1): counters(calls: 100, totalMs: 1_000)])
            #expect(deltas.update([key(1): counters(calls: 0, totalMs: 0)]).isEmpty)
        }

        @Test("A new stats_reset time resets every entry, even those whose counters grew")
        func globalReset() throws {
            var deltas = StatementDeltas()
            _ = deltas.update(
                [
                    key(1): counters(calls: 10, totalMs: 100, rows: 10),
                    key(2): counters(calls: 50, totalMs: 900, rows: 50),
                ],
                resetMarker: "2024-05-01 10:00:00+00"
            )
            let result = deltas.update(
                [
                    key(1): counters(calls: 12, totalMs: 130, rows: 12),
                    key(2): counters(calls: 5, totalMs: 90, rows: 5),
                ],
                resetMarker: "2024-05-01 11:00:00+00"
            )
            #expect(result.count == 2)
            #expect(result.map(\.reset) == [true, true])
            let first = try #require(result.first { $0.key == key(1) })
            let second = try #require(result.first { $0.key == key(2) })
            #expect(first.calls == 12)
            #expect(first.totalMs == 130)
            #expect(first.rows == 12)
            #expect(second.calls == 5)
            #expect(second.totalMs == 90)
        }

        @Test("An unchanged or absent reset marker is no reset")
        func unchangedMarker() throws {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1): counters(calls: 10, totalMs: 100)], resetMarker: nil)
            // The marker appearing (pg_stat_statements_info became readable) is no reset.
            let appeared = deltas.update([key(1): counters(calls: 11, totalMs: 110)], resetMarker: "t0")
            #expect(appeared.map(\.calls) == [1])
            #expect(appeared.map(\.reset) == [false])
            let same = deltas.update([key(1): counters(calls: 13, totalMs: 130)], resetMarker: "t0")
            #expect(same.map(\.calls) == [2])
            #expect(same.map(\.reset) == [false])
        }

        @Test("An entry without new calls yields nothing")
        func unchangedEntry() {
            var deltas = StatementDeltas()
            let reading = [
                key(1): counters(calls: 10, totalMs: 100, rows: 10),
                key(2): counters(calls: 20, totalMs: 200, rows: 20),
            ]
            _ = deltas.update(reading, resetMarker: "t0")
            #expect(deltas.update(reading, resetMarker: "t0").isEmpty)
            var moved = reading
            moved[key(2)] = counters(calls: 21, totalMs: 230, rows: 21)
            #expect(deltas.update(moved, resetMarker: "t0").map(\.key) == [key(2)])
        }

        @Test("Results are sorted by total time, largest first")
        func sortedByTotalTime() {
            var deltas = StatementDeltas()
            let before = (1...5).map { (key(Int64($0)), counters(calls: 1, totalMs: 1)) }
            _ = deltas.update(Dictionary(uniqueKeysWithValues: before))
            let totals: [Int64: Double] = [1: 30, 2: 500, 3: 7, 4: 120, 5: 42]
            let after = totals.map { (key($0.key), counters(calls: 2, totalMs: 1 + $0.value)) }
            let result = deltas.update(Dictionary(uniqueKeysWithValues: after))
            #expect(result.map(\.key.queryid) == [2, 4, 5, 1, 3])
            #expect(result.map(\.totalMs) == [500, 120, 42, 30, 7])
        }

        @Test("Entries differing only by database or user are separate")
        func keysIncludeDatabaseAndUser() {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1, dbid: 1): counters(calls: 1, totalMs: 1)])
            let result = deltas.update([
                key(1, dbid: 1): counters(calls: 1, totalMs: 1),
                key(1, dbid: 2): counters(calls: 3, totalMs: 3),
                key(1, userid: 99): counters(calls: 4, totalMs: 4),
            ])
            #expect(Set(result.map(\.key)) == [key(1, dbid: 2), key(1, userid: 99)])
        }

        @Test("Random readings never give a negative field", arguments: [1, 7, 42, 1_234, 0xDEAD_BEEF] as [UInt64])
        func neverNegative(seed: UInt64) {
            var random = SeededGenerator(state: seed)
            var deltas = StatementDeltas()
            let keys = (1...8).map { key(Int64($0), userid: Int64($0 % 2)) }
            var current: [StatementKey: StatementCounters] = [:]
            var marker = "t0"
            for step in 0..<400 {
                let previous = current
                let globalReset = Int.random(in: 0..<30, using: &random) == 0
                if globalReset { marker = "t\(step)" }
                var resetKeys: Set<StatementKey> = []
                for key in keys {
                    switch Int.random(in: 0..<20, using: &random) {
                    case 0:
                        current[key] = nil  // evicted from pg_stat_statements
                    case 1, 2:
                        resetKeys.insert(key)  // pg_stat_statements_reset(userid, dbid, queryid)
                        current[key] = counters(
                            calls: Double(Int.random(in: 0...5, using: &random)),
                            totalMs: Double.random(in: 0...50, using: &random),
                            maxMs: Double.random(in: 0...50, using: &random),
                            rows: Double(Int.random(in: 0...5, using: &random)),
                            hit: Double(Int.random(in: 0...50, using: &random)),
                            read: Double(Int.random(in: 0...50, using: &random))
                        )
                    default:
                        let old = current[key] ?? counters(calls: 0, totalMs: 0)
                        let calls = Double(Int.random(in: 0...3, using: &random))
                        current[key] = counters(
                            calls: old.calls + calls,
                            totalMs: old.totalMs + (calls > 0 ? Double.random(in: 0...200, using: &random) : 0),
                            maxMs: max(old.maxMs, Double.random(in: 0...200, using: &random)),
                            rows: old.rows + Double(Int.random(in: 0...10, using: &random)),
                            hit: old.sharedHit + Double(Int.random(in: 0...100, using: &random)),
                            read: old.sharedRead + Double(Int.random(in: 0...100, using: &random))
                        )
                    }
                }
                let result = deltas.update(current, resetMarker: marker)
                if step == 0 { #expect(result.isEmpty) }
                for delta in result {
                    #expect(isNeverNegative(delta), "seed \(seed) step \(step): \(delta)")
                    #expect(delta.calls > 0, "seed \(seed) step \(step): \(delta)")
                    if globalReset { #expect(delta.reset, "seed \(seed) step \(step): \(delta)") }
                    guard !globalReset, !resetKeys.contains(delta.key), let before = previous[delta.key],
                        let now = current[delta.key]
                    else { continue }
                    #expect(!delta.reset, "seed \(seed) step \(step): \(delta)")
                    #expect(delta.calls == now.calls - before.calls)
                    #expect(delta.totalMs == now.totalMs - before.totalMs)
                    #expect(delta.rows == now.rows - before.rows)
                }
                #expect(zip(result, result.dropFirst()).allSatisfy { $0.totalMs >= $1.totalMs })
            }
        }
    }
}

extension PostgresLogicTests {
    /// `StatementDeltas` fed row by row, as the collector reads `pg_stat_statements`.
    @Suite struct StatementDeltaStreamTests {
        @Test("Row by row gives what a whole reading gives, and forgets entries that left the view")
        func rowByRowMatchesWholeReading() {
            var whole = StatementDeltas()
            var stream = StatementDeltas()
            let readings: [[StatementKey: StatementCounters]] = [
                [key(1): counters(calls: 1, totalMs: 10), key(2): counters(calls: 5, totalMs: 50)],
                [key(1): counters(calls: 3, totalMs: 40), key(3): counters(calls: 2, totalMs: 7)],
                [key(1): counters(calls: 3, totalMs: 40), key(2): counters(calls: 6, totalMs: 61)],
            ]
            for (step, reading) in readings.enumerated() {
                let expected = whole.update(reading, resetMarker: "t0")
                stream.begin(resetMarker: "t0")
                for (key, now) in reading.sorted(by: { $0.key.queryid < $1.key.queryid }) { stream.observe(key, now) }
                let got = stream.finish()
                #expect(Set(got.map(\.key)) == Set(expected.map(\.key)), "step \(step)")
                #expect(got.map(\.totalMs) == expected.map(\.totalMs), "step \(step)")
                #expect(stream.count == reading.count)
            }
            // Key 2 left in the second reading: it came back in full (6 calls), not as 6 - 5.
            #expect(stream.removedLastReading == 1)
            #expect(!stream.isKnown(key(3)))
        }

        @Test("A key twice in one reading (track = all) counts once and is counted as a duplicate")
        func duplicateRows() {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1): counters(calls: 1, totalMs: 1)])
            deltas.begin()
            deltas.observe(key(1), counters(calls: 4, totalMs: 4))
            deltas.observe(key(1), counters(calls: 9, totalMs: 9))
            let result = deltas.finish()
            #expect(result.map(\.calls) == [3])
            #expect(deltas.duplicateRows == 1)
        }

        @Test(
            "Hostile counters (huge, infinite, NaN, negative) never give a negative or NaN delta",
            arguments: [
                (1e300, 1e308), (Double.infinity, Double.infinity), (Double.nan, Double.nan), (-5, -1), (9.3e18, 1e18),
            ] as [(Double, Double)])
        func hostileCounters(_ values: (Double, Double)) {
            var deltas = StatementDeltas()
            _ = deltas.update([key(1): counters(calls: 10, totalMs: 100, rows: 10)])
            let result = deltas.update([
                key(1): counters(calls: values.0, totalMs: values.1, maxMs: values.1, rows: -1, hit: .nan, read: 0)
            ])
            for delta in result {
                #expect(delta.calls > 0)
                #expect(delta.totalMs >= 0)
                #expect(delta.rows >= 0)
                #expect(delta.sharedHit >= 0)
            }
        }
    }
}

extension PostgresLogicTests {
    @Suite struct StatementEventWriterTests {
        /// The payload as the collector built it before the writer (a `JSONValue` object).
        private static func reference(_ delta: StatementDelta, database: String, user: String, query: String?)
            -> String
        {
            JSONValue.object([
                ("queryid", .string(String(delta.key.queryid))), ("dbid", .number(Double(delta.key.dbid))),
                ("userid", .number(Double(delta.key.userid))), ("database", .string(database)),
                ("user", .string(user)), ("calls", .number(delta.calls)), ("total_exec_ms", .number(delta.totalMs)),
                ("mean_exec_ms", .number(delta.meanMs)), ("max_exec_ms_since_reset", .number(delta.maxMsSinceReset)),
                ("rows", .number(delta.rows)), ("shared_blks_hit", .number(delta.sharedHit)),
                ("shared_blks_read", .number(delta.sharedRead)), ("reset", .bool(delta.reset)),
                ("query", query.map { .string($0) } ?? .null),
            ]).encoded()
        }

        @Test(
            "Each bundled statement, expanded, is the event the collector built before: key, and payload byte for byte the JSONValue object's, hostile values included"
        )
        func sameAsJSONValue() {
            let numbers: [Double] = [0, 1, 12.5, 1e300, -0.0, .infinity, .nan, 9.3e18, 1e15, 999_999_999_999_999, 0.1]
            let texts: [String?] = [
                nil, "", "SELECT 1", "SELECT \"a\\b\" FROM t WHERE x = '\n\t\u{01}'", "SELECT 'é' /* ✓ */",
                String(repeating: "x", count: 9000),
            ]
            var writer = StatementEventWriter()
            var expected: [Event] = []
            // Two polls: the writer starts afresh after `finish`.
            for poll in 0..<2 {
                expected = []
                // Four rounds of the values: the 9 000-byte texts then fill more than one bundle.
                for index in 0..<(numbers.count * 4) {
                    let value = numbers[index % numbers.count]
                    let delta = StatementDelta(
                        key: StatementKey(
                            dbid: Int64(index), userid: -Int64(index), queryid: index % 2 == 0 ? .min : .max),
                        calls: value, totalMs: numbers[(index + 3) % numbers.count], rows: value,
                        sharedHit: numbers[(index + 1) % numbers.count], sharedRead: -value,
                        maxMsSinceReset: numbers[(index + 5) % numbers.count], reset: index % 3 == 0)
                    let text = texts[index % texts.count]
                    let database = index % 2 == 0 ? "app" : "we\"ird\u{7}db"
                    writer.add(delta, database: database, user: "u", query: text, timestampMs: 7_000 + Int64(poll))
                    expected.append(
                        Event(
                            kind: "pg_statement", key: "\(delta.key.dbid):\(delta.key.queryid)",
                            timestampMs: 7_000 + Int64(poll),
                            payload: Self.reference(delta, database: database, user: "u", query: text)))
                }
                let bundles = writer.finish(timestampMs: 7_000 + Int64(poll))
                // The 9 000-byte text fills a bundle past its target: more than one, all bundles.
                #expect(bundles.count > 1)
                #expect(bundles.allSatisfy { $0.kind == StatementBundle.kind })
                var malformed = 0
                #expect(StatementBundle.expanding(bundles, malformed: &malformed) == expected, "poll \(poll)")
                #expect(malformed == 0)
            }
            #expect(writer.finish(timestampMs: 9_000).isEmpty, "nothing added: no bundle")
        }
    }
}

extension PostgresLogicTests {
    /// `StatementTextCache`: which texts are read, kept and forgotten.
    @Suite struct StatementTextCacheTests {
        private static func delta(_ queryid: Int64, reset: Bool = false) -> StatementDelta {
            StatementDelta(
                key: key(queryid), calls: 1, totalMs: 1, rows: 0, sharedHit: 0, sharedRead: 0, maxMsSinceReset: 1,
                reset: reset)
        }

        @Test("Only statements without a text are fetched; a stored text is not fetched again")
        func fetchOnce() {
            var cache = StatementTextCache()
            #expect(cache.keysToFetch(for: [Self.delta(1), Self.delta(2)]) == [key(1), key(2)])
            cache.store("SELECT 1", for: key(1))
            cache.store("SELECT 2", for: key(2))
            #expect(cache.keysToFetch(for: [Self.delta(1), Self.delta(2), Self.delta(3)]) == [key(3)])
            #expect(cache[key(1)] == "SELECT 1")
            #expect(cache.count == 2)
            #expect(cache.bytes == 16)
        }

        @Test("A text the server never returned (the entry left between the two queries) is asked for again")
        func neverFetched() {
            var cache = StatementTextCache()
            #expect(cache.keysToFetch(for: [Self.delta(7)]) == [key(7)])
            // The text query returned no row for 7: nothing stored.
            #expect(cache[key(7)] == nil)
            #expect(cache.keysToFetch(for: [Self.delta(7)]) == [key(7)])
        }

        @Test("A NULL text is counted, not kept, and asked for again")
        func nullText() {
            var cache = StatementTextCache()
            #expect(cache.store(nil, for: key(1)) == nil)
            #expect(cache.nullTexts == 1)
            #expect(cache.count == 0)
            #expect(cache.keysToFetch(for: [Self.delta(1)]) == [key(1)])
        }

        @Test("A query id reused after pg_stat_statements_reset gets its text read again")
        func reusedAfterReset() {
            var cache = StatementTextCache()
            cache.store("SELECT a FROM t WHERE id = $1", for: key(1))
            // Reset and run again between two polls: the delta says reset, the old text goes.
            #expect(cache.keysToFetch(for: [Self.delta(1, reset: true)]) == [key(1)])
            #expect(cache[key(1)] == nil)
            cache.store("/* new caller */ SELECT a FROM t WHERE id = $1", for: key(1))
            // Reset and gone at the next poll, then back: retain forgot it, so it is read again.
            cache.retain { $0 != key(1) }
            #expect(cache.count == 0)
            #expect(cache.bytes == 0)
            #expect(cache.keysToFetch(for: [Self.delta(1)]) == [key(1)])
        }

        @Test("Texts of statements gone from the view are forgotten; the others stay")
        func retainPresent() {
            var cache = StatementTextCache()
            for id in 1...4 { cache.store("SELECT \(id)", for: key(Int64(id))) }
            cache.retain { $0.queryid % 2 == 0 }
            #expect(cache.count == 2)
            #expect(cache[key(2)] == "SELECT 2")
            #expect(cache[key(1)] == nil)
            #expect(cache.bytes == 16)
        }

        @Test("Full (by count or by bytes): a new text serves its poll and is not kept")
        func bounded() {
            var byCount = StatementTextCache(capacity: 2)
            byCount.store("a", for: key(1))
            byCount.store("b", for: key(2))
            #expect(byCount.store("c", for: key(3)) == "c")
            #expect(byCount[key(3)] == nil)
            #expect(byCount.notKept == 1)
            var byBytes = StatementTextCache(maxTotalBytes: 10)
            byBytes.store("12345678", for: key(1))
            #expect(byBytes.store("123", for: key(2)) == "123")
            #expect(byBytes[key(2)] == nil)
            #expect(byBytes.bytes == 8)
        }

        @Test("A huge text is cut to maxTextBytes; a character cut in two becomes U+FFFD")
        func hugeText() {
            var cache = StatementTextCache(maxTextBytes: 8)
            let stored = cache.store("SELECT 'é' || 'x'", for: key(1))
            #expect(stored == "SELECT '")
            #expect(cache.store("SELECT é", for: key(2)) == "SELECT \u{FFFD}")
            #expect(cache.store(String(repeating: "x", count: 100_000), for: key(3))?.utf8.count == 8)
        }
    }
}

extension PostgresLogicTests {
    @Suite struct SlowStatementWindowTests {
        private static func delta(_ queryid: Int64, calls: Double, totalMs: Double) -> StatementDelta {
            StatementDelta(
                key: key(queryid),
                calls: calls,
                totalMs: totalMs,
                rows: 0,
                sharedHit: 0,
                sharedRead: 0,
                maxMsSinceReset: 0,
                reset: false
            )
        }

        @Test("Top statements by mean over the window, slowest first")
        func topByMean() throws {
            var window = SlowStatementWindow(windowMs: 3_600_000)
            window.record([Self.delta(1, calls: 10, totalMs: 1_000), Self.delta(2, calls: 1, totalMs: 900)], at: 0)
            // Statement 1 gets faster: 1 100 ms over 20 calls = 55 ms on average over the window.
            window.record(
                [Self.delta(1, calls: 10, totalMs: 100), Self.delta(3, calls: 4, totalMs: 1_200)], at: 60_000)
            let top = window.top(10, thresholdMs: 0)
            #expect(top.map(\.key.queryid) == [2, 3, 1])
            #expect(top.map(\.meanMs) == [900, 300, 55])
        }

        @Test("Statements below the threshold are left out; the threshold itself is slow")
        func threshold() {
            var window = SlowStatementWindow()
            window.record(
                [
                    Self.delta(1, calls: 10, totalMs: 999), Self.delta(2, calls: 10, totalMs: 1_000),
                    Self.delta(3, calls: 1, totalMs: 5_000),
                ],
                at: 1_000
            )
            #expect(window.top(5, thresholdMs: 100).map(\.key.queryid) == [3, 2])
            #expect(window.top(5, thresholdMs: 10_000).isEmpty)
        }

        @Test("Points older than the window are dropped")
        func oldPointsDropped() {
            var window = SlowStatementWindow(windowMs: 10_000)
            window.record([Self.delta(1, calls: 1, totalMs: 10_000), Self.delta(2, calls: 1, totalMs: 500)], at: 0)
            window.record([Self.delta(2, calls: 1, totalMs: 100)], at: 5_000)
            #expect(window.top(5, thresholdMs: 0).map(\.key.queryid) == [1, 2])
            // At 20 000 the points of 0 and 5 000 are more than 10 s old.
            window.record([Self.delta(2, calls: 1, totalMs: 200)], at: 20_000)
            let top = window.top(5, thresholdMs: 0)
            #expect(top.map(\.key.queryid) == [2])
            #expect(top.map(\.meanMs) == [200])
            // Recording nothing still expires what is left.
            window.record([], at: 40_000)
            #expect(window.top(5, thresholdMs: 0).isEmpty)
        }

        @Test("At most `limit` statements", arguments: [0, 1, 3, 10])
        func limit(_ limit: Int) {
            var window = SlowStatementWindow()
            window.record((1...6).map { Self.delta(Int64($0), calls: 1, totalMs: Double($0) * 100) }, at: 0)
            let top = window.top(limit, thresholdMs: 0)
            #expect(top.count == min(limit, 6))
            #expect(top.map(\.key.queryid) == Array(([6, 5, 4, 3, 2, 1] as [Int64]).prefix(limit)))
        }

        @Test("An empty window has no slow statement")
        func empty() {
            #expect(SlowStatementWindow().top(5, thresholdMs: 0).isEmpty)
        }
    }
}

extension PostgresLogicTests {
    @Suite struct PlanAdvisorTests {
        @Test("Seq scan of the captured LIKE plan")
        func seqScanOfLikePlan() throws {
            let scans = PlanAdvisor.seqScans(planJSON: try PostgresFixtures.text("plan-like-seq-scan.json"))
            #expect(scans.map(\.relation) == ["big"])
            #expect(scans.first?.filter == "(payload ~~ $1)")
            // EXPLAIN prints "Schema" only with VERBOSE.
            #expect(scans.first?.schema == nil)
        }

        @Test("Plan Rows of a seq scan is read (an integer in the JSON)")
        func planRows() throws {
            let scans = PlanAdvisor.seqScans(planJSON: try PostgresFixtures.text("plan-equality-seq-scan.json"))
            #expect(scans.map(\.planRows) == [200])
        }

        @Test("Seq scans nested under joins, hashes and Gather are found")
        func nestedSeqScans() throws {
            let join = PlanAdvisor.seqScans(planJSON: try PostgresFixtures.text("plan-join-nested-seq-scan.json"))
            #expect(join.map(\.relation) == ["big", "small_cat"])
            #expect(join.map(\.filter) == ["(payload ~~ $1)", nil])
            let gather = PlanAdvisor.seqScans(
                planJSON: try PostgresFixtures.text("plan-ilike-and-equality-seq-scan.json")
            )
            #expect(gather.map(\.relation) == ["big"])
            #expect(gather.map(\.filter) == ["((payload ~~* $2) AND (category = $1))"])
        }

        @Test("Plans without a seq scan", arguments: ["plan-index-scan.json", "plan-pg-sleep.json"])
        func noSeqScan(_ fixture: String) throws {
            #expect(PlanAdvisor.seqScans(planJSON: try PostgresFixtures.text(fixture)).isEmpty)
        }

        @Test(
            "Text that is not a plan gives no seq scan",
            arguments: [
                "", " ", "garbage", "{", "[", "[{\"Plan\": ", "null", "42", "\"Seq Scan\"", "[]", "{}", "[1, 2, 3]",
                "{\"Plan\": 5}", "[{\"Plan\": {\"Node Type\": \"Seq Scan\"}}]",
                "[{\"Plan\": {\"Node Type\": \"Seq Scan\", \"Relation Name\": 7}}]",
                "[{\"Plan\": {\"Node Type\": 3, \"Plans\": \"x\"}}]", "Seq Scan on big  (cost=0.00..4562.00 rows=200)",
            ]
        )
        func notAPlan(_ text: String) {
            #expect(PlanAdvisor.seqScans(planJSON: text).isEmpty)
            #expect(PlanAdvisor.suggestions(planJSON: text, minTableBytes: 0) { _ in 1e12 }.isEmpty)
        }

        @Test("A truncated capture gives nothing and does not crash")
        func truncatedPlan() throws {
            let plan = try PostgresFixtures.text("plan-join-nested-seq-scan.json")
            for length in stride(from: 0, to: plan.utf8.count - 2, by: 37) {
                let truncated = String(decoding: Array(plan.utf8.prefix(length)), as: UTF8.self)
                #expect(PlanAdvisor.suggestions(planJSON: truncated, minTableBytes: 0) { _ in 1e12 }.isEmpty)
            }
        }

        struct FilterCase: Sendable, CustomTestStringConvertible {
            var filter: String
            var like: [String]
            var compared: [String]
            var testDescription: String { filter.isEmpty ? "empty" : filter }
        }

        static let filters: [FilterCase] = [
            FilterCase(filter: "((name)::text = $1)", like: [], compared: ["name"]),
            FilterCase(filter: "(payload ~~ '%x%'::text)", like: ["payload"], compared: []),
            FilterCase(filter: "(payload ~~* $1)", like: ["payload"], compared: []),
            FilterCase(filter: "(payload ~~ $1)", like: ["payload"], compared: []),
            FilterCase(filter: "((payload)::text ~~ $1)", like: ["payload"], compared: []),
            FilterCase(filter: "(payload !~~ $1)", like: [], compared: []),
            FilterCase(filter: "(payload !~~* $1)", like: [], compared: []),
            FilterCase(filter: "(a <> 1)", like: [], compared: []),
            FilterCase(filter: "((a = 1) AND (b > 2))", like: [], compared: ["a", "b"]),
            FilterCase(filter: "((a >= 1) AND (a <= 9))", like: [], compared: ["a"]),
            FilterCase(filter: "(category = $1)", like: [], compared: ["category"]),
            FilterCase(filter: "((payload ~~* $2) AND (category = $1))", like: ["payload"], compared: ["category"]),
            FilterCase(filter: "((status)::text = ANY ('{a,b}'::text[]))", like: [], compared: ["status"]),
            FilterCase(
                filter: "((created_at)::timestamp with time zone < $1)",
                like: [],
                compared: ["created_at"]
            ),
            FilterCase(filter: "(category IS NULL)", like: [], compared: []),
            FilterCase(filter: "", like: [], compared: []),
            FilterCase(filter: "garbage", like: [], compared: []),
        ]

        @Test("Columns of a filter, LIKE apart from comparisons", arguments: filters)
        func filteredColumns(_ test: FilterCase) {
            let columns = PlanAdvisor.filteredColumns(test.filter)
            #expect(columns.like == test.like)
            #expect(columns.compared == test.compared)
        }

        private static func sizes(_ table: String) -> Double? {
            ["big": PostgresFixtures.bigTableBytes, "small_cat": 65_536][table]
        }

        @Test("LIKE on a large table suggests one trigram index")
        func trigramSuggestion() throws {
            let plan = try PostgresFixtures.text("plan-like-seq-scan.json")
            let suggestions = PlanAdvisor.suggestions(
                planJSON: plan, minTableBytes: 8 * 1_048_576, tableBytes: Self.sizes)
            let suggestion = try #require(suggestions.first)
            #expect(suggestions.count == 1)
            #expect(suggestion.table == "big")
            #expect(suggestion.columns == ["payload"])
            #expect(suggestion.kind == "trigram_index")
            #expect(suggestion.reason.contains("big (20.4 MB)"))
            #expect(suggestion.reason.contains("payload"))
            #expect(
                suggestion.sql
                    == "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY ON big USING gin (payload gin_trgm_ops);"
            )
            #expect(suggestion.json["kind"] == "trigram_index")
            #expect(suggestion.json["columns"] == ["payload"])
        }

        @Test("Equality on a large table suggests a B-tree index")
        func btreeSuggestion() throws {
            let plan = try PostgresFixtures.text("plan-equality-seq-scan.json")
            let suggestions = PlanAdvisor.suggestions(
                planJSON: plan, minTableBytes: 8 * 1_048_576, tableBytes: Self.sizes)
            let suggestion = try #require(suggestions.first)
            #expect(suggestions.count == 1)
            #expect(suggestion.table == "big")
            #expect(suggestion.columns == ["category"])
            #expect(suggestion.kind == "btree_index")
            #expect(suggestion.sql == "CREATE INDEX CONCURRENTLY ON big (category);")
        }

        @Test("LIKE and equality on one scan give both kinds")
        func bothKinds() throws {
            let plan = try PostgresFixtures.text("plan-ilike-and-equality-seq-scan.json")
            let suggestions = PlanAdvisor.suggestions(
                planJSON: plan, minTableBytes: 8 * 1_048_576, tableBytes: Self.sizes)
            #expect(suggestions.map(\.kind) == ["trigram_index", "btree_index"])
            #expect(suggestions.map(\.columns) == [["payload"], ["category"]])
        }

        @Test("Only the filtered scan of a join gets a suggestion")
        func joinSuggestion() throws {
            let plan = try PostgresFixtures.text("plan-join-nested-seq-scan.json")
            let suggestions = PlanAdvisor.suggestions(planJSON: plan, minTableBytes: 0, tableBytes: Self.sizes)
            #expect(suggestions.map(\.table) == ["big"])
            #expect(suggestions.map(\.kind) == ["trigram_index"])
        }

        @Test(
            "A table below the threshold, or of unknown size, gets no suggestion",
            arguments: ["plan-like-seq-scan.json", "plan-equality-seq-scan.json"]
        )
        func belowThreshold(_ fixture: String) throws {
            let plan = try PostgresFixtures.text(fixture)
            let above = PostgresFixtures.bigTableBytes + 1
            #expect(PlanAdvisor.suggestions(planJSON: plan, minTableBytes: above, tableBytes: Self.sizes).isEmpty)
            #expect(PlanAdvisor.suggestions(planJSON: plan, minTableBytes: 1) { _ in nil }.isEmpty)
            // The threshold itself is large enough.
            let at = PostgresFixtures.bigTableBytes
            #expect(PlanAdvisor.suggestions(planJSON: plan, minTableBytes: at, tableBytes: Self.sizes).count == 1)
        }

        @Test(
            "Plans without a filtered seq scan get no suggestion",
            arguments: ["plan-index-scan.json", "plan-pg-sleep.json"])
        func noSuggestion(_ fixture: String) throws {
            let plan = try PostgresFixtures.text(fixture)
            var asked: [String] = []
            let suggestions = PlanAdvisor.suggestions(planJSON: plan, minTableBytes: 0) { table in
                asked.append(table)
                return 1e12
            }
            #expect(suggestions.isEmpty)
            #expect(asked.isEmpty)
        }

        @Test("A schema in the plan (EXPLAIN VERBOSE) qualifies the table")
        func schemaQualified() throws {
            let plan = """
                [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "app", "Alias": "orders",
                  "Plan Rows": 10, "Filter": "(customer_id = $1)"}}]
                """
            var asked: [String] = []
            let suggestions = PlanAdvisor.suggestions(planJSON: plan, minTableBytes: 1) { table in
                asked.append(table)
                return 1e9
            }
            #expect(asked == ["app.orders"])
            #expect(suggestions.map(\.sql) == ["CREATE INDEX CONCURRENTLY ON app.orders (customer_id);"])
        }

        // BUG (PlanAdvisor.swift:93, :107, :119): relation names are pasted into SQL unquoted.
        // "Relation Name" in JSON EXPLAIN is the raw name, so a table created as "Order Items" (or
        // "Orders") yields SQL that fails or indexes another table.
        @Test("Table names that need quoting are quoted in the suggested SQL")
        func quotesTableNames() throws {
            let plan = """
                [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "Order Items", "Alias": "Order Items",
                  "Plan Rows": 10, "Filter": "(category = $1)"}}]
                """
            let suggestions = PlanAdvisor.suggestions(planJSON: plan, minTableBytes: 1) { _ in 1e9 }
            #expect(suggestions.map(\.sql) == ["CREATE INDEX CONCURRENTLY ON \"Order Items\" (category);"])
        }
    }
}

extension PostgresLogicTests {
    @Suite struct StatementClassificationTests {
        @Test(
            "Statements a plan can be obtained for",
            arguments: [
                "SELECT 1", "select * from big where id = $1", "  \n\tSELECT 1", "WITH x AS (SELECT 1) SELECT * FROM x",
                "with x as (select 1) select * from x", "INSERT INTO big (payload) VALUES ($1)",
                "UPDATE big SET category = $1 WHERE id = $2", "DELETE FROM big WHERE id = $1",
                "-- fetch one\nSELECT 1", "-- a\n  -- b\n\nselect 1", "/* app:web */ SELECT 1",
                "/* a */ /* b */\n-- c\nUpdate big SET category = 1", "/*multi\nline*/SELECT 1", "Select(1)",
            ]
        )
        func explainable(_ text: String) {
            #expect(PostgresCollector.isExplainable(text))
        }

        @Test(
            "Statements that are never explained",
            arguments: [
                "VACUUM big", "vacuum analyze big", "SET search_path = app", "BEGIN", "COMMIT",
                "CREATE INDEX ON big (category)", "ALTER TABLE big ADD COLUMN x int", "EXPLAIN SELECT 1",
                "COPY big TO STDOUT", "", "   ", "-- only a comment", "-- only a comment\n", "/* only a comment */",
                "/* unterminated SELECT 1", "SELECTED", "selection", "1 SELECT",
            ]
        )
        func notExplainable(_ text: String) {
            #expect(!PostgresCollector.isExplainable(text))
        }

        @Test(
            "Connection states become label values",
            arguments: [
                ("idle in transaction (aborted)", "idle_in_transaction_aborted"),
                ("idle in transaction", "idle_in_transaction"), ("active", "active"), ("idle", "idle"),
                ("fastpath function call", "fastpath_function_call"), ("disabled", "disabled"),
            ]
        )
        func stateLabel(_ state: String, _ label: String) {
            #expect(PostgresCollector.stateLabel(state) == label)
            #expect(PostgresCollector.states.contains(label))
        }
    }
}

extension PostgresLogicTests {
    @Suite struct JSONValueParsingTests {
        @Test("Booleans stay booleans and numbers stay numbers")
        func booleansAndNumbers() throws {
            #expect(JSONValue.parse("true") == .bool(true))
            #expect(JSONValue.parse("false") == .bool(false))
            #expect(JSONValue.parse("1") == .number(1))
            #expect(JSONValue.parse("0") == .number(0))
            #expect(JSONValue.parse("-2.5e3") == .number(-2_500))
            #expect(JSONValue.parse("null") == .null)
            #expect(JSONValue.parse("\"true\"") == .string("true"))
            let value = try #require(JSONValue.parse(#"{"flag": true, "off": false, "n": 1, "z": 0, "s": "x"}"#))
            #expect(value["flag"]?.boolValue == true)
            #expect(value["flag"]?.doubleValue == nil)
            #expect(value["off"]?.boolValue == false)
            #expect(value["n"]?.doubleValue == 1)
            #expect(value["n"]?.boolValue == nil)
            #expect(value["z"]?.doubleValue == 0)
            #expect(value["z"]?.boolValue == nil)
            #expect(value["s"]?.stringValue == "x")
            #expect(value["s"]?.doubleValue == nil)
            #expect(value["missing"] == nil)
            #expect(JSONValue.array([1])["flag"] == nil)
        }

        @Test("Objects come back with sorted keys, nested too")
        func sortedKeys() throws {
            let value = try #require(
                JSONValue.parse(#"{"b": [1, "two", null, {"y": 2, "x": 1}], "a": {"d": false, "c": 1.5}, "A": []}"#)
            )
            #expect(
                value
                    == .object([
                        ("A", .array([])),
                        ("a", .object([("c", .number(1.5)), ("d", .bool(false))])),
                        ("b", .array([.number(1), .string("two"), .null, .object([("x", 1), ("y", 2)])])),
                    ])
            )
            #expect(value["a"]?["c"]?.doubleValue == 1.5)
            #expect(value.encoded() == #"{"A":[],"a":{"c":1.5,"d":false},"b":[1,"two",null,{"x":1,"y":2}]}"#)
        }

        // Foundation accepts trailing commas (`[1,]`) on purpose (swift-corelibs-foundation#4682).
        @Test(
            "Text that is not JSON gives nil",
            arguments: ["", " ", "tru", "{", "[1 2]", "{\"a\" 1}", "{'a': 1}", "nan", "[1] x", "\"unterminated"]
        )
        func invalid(_ text: String) {
            #expect(JSONValue.parse(text) == nil)
        }

        static let roundTrips: [JSONValue] = [
            .null, true, false, 0, -1, 1.5, 123_456_789_012, 1e20, 0.000_123, .number(Double.pi), "",
            "quote \" backslash \\ newline \n tab \t return \r control \u{01} é 🙂", [], [1, "a", nil, [true]],
            .object([]),
            .object([
                ("a", .object([("inner", [1, 2, 3]), ("z", .null)])), ("b", false), ("c", "text"),
                ("d", .array([.object([("k", 1)]), .object([])])),
            ]),
        ]

        @Test("parse(encoded()) gives the value back", arguments: roundTrips)
        func roundTrip(_ value: JSONValue) {
            #expect(JSONValue.parse(value.encoded()) == value)
        }
    }
}

extension PostgresLogicTests {
    @Suite struct PostgresArrayTests {
        @Test(
            "Text arrays quote every element",
            arguments: [
                ([], "{}"), ([""], #"{""}"#), (["a", "b"], #"{"a","b"}"#), (["b\"c"], #"{"b\"c"}"#),
                (["a\\b"], #"{"a\\b"}"#), (["a,b"], #"{"a,b"}"#), (["{x}", "}"], #"{"{x}","}"}"#),
                (["NULL"], #"{"NULL"}"#), (["two words", " pad "], #"{"two words"," pad "}"#),
                (["\\\""], #"{"\\\""}"#), (["é🙂"], #"{"é🙂"}"#),
            ] as [([String], String)]
        )
        func text(_ values: [String], _ literal: String) {
            #expect(PostgresArray.text(values) == literal)
        }

        @Test(
            "Integer arrays",
            arguments: [
                ([], "{}"), ([1], "{1}"), ([1, -2, 30], "{1,-2,30}"),
                ([Int64.min, Int64.max], "{-9223372036854775808,9223372036854775807}"),
            ] as [([Int64], String)]
        )
        func integers(_ values: [Int64], _ literal: String) {
            #expect(PostgresArray.integers(values) == literal)
        }
    }
}
