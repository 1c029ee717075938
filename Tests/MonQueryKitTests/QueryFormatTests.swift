import Foundation
import Testing

@testable import MonCore
@testable import MonQueryKit

/// Text and binary formats of the query and storage paths.
@Suite struct QueryFormatTests {}

extension QueryFormatTests {
    @Suite struct DurationTextTests {
        @Test(
            "Valid durations",
            arguments: [
                ("30s", 30), ("5m", 300), ("1h", 3600), ("24h", 86_400), ("7d", 604_800), ("30d", 2_592_000),
                ("2w", 1_209_600), ("400d", 34_560_000), ("1s", 1), ("0005m", 300),
            ] as [(String, Int64)]
        )
        func validDuration(text: String, seconds: Int64) throws {
            #expect(try DurationText.seconds(text, parameter: "period") == seconds)
        }

        @Test(
            "Invalid durations name the parameter",
            arguments: [
                "banana", "-1", "0s", "1.5h", "", "999999999d", "+5m", "5", "m", "-5m", "5 m", " 5m", "5M", "1e3s",
                "0x10s", "401d", "58w", "9999999d", "5mm", "\u{0663}s",
            ]
        )
        func invalidDuration(text: String) {
            let error = #expect(throws: ParameterError.self) { try DurationText.seconds(text, parameter: "step") }
            #expect(error?.parameter == "step")
            #expect(error?.description.hasPrefix("step: ") == true)
        }

        @Test func overlongTextIsCutInTheMessage() {
            let text = String(repeating: "9", count: 500) + "d"
            let error = #expect(throws: ParameterError.self) { try DurationText.seconds(text, parameter: "period") }
            #expect((error?.message.count ?? .max) < 120)
        }

        @Test func formatUsesTheLargestWholeUnit() {
            #expect(DurationText.format(seconds: 3600) == "1h")
            #expect(DurationText.format(seconds: 90) == "90s")
            #expect(DurationText.format(seconds: 120) == "2m")
            #expect(DurationText.format(seconds: 172_800) == "2d")
            #expect(DurationText.format(seconds: 5400) == "90m")
        }
    }
}

extension QueryFormatTests {
    @Suite struct TimeRangeTests {
        private static let now: Int64 = 1_795_927_346_123

        @Test func defaultsToOneHourWithMinuteSteps() throws {
            let range = try TimeRange(period: nil, step: nil, nowMs: Self.now)
            #expect(range.periodSeconds == 3600)
            #expect(range.stepSeconds == 60)
            #expect(range.endMs == Self.now)
            #expect(range.startMs == Self.now - 3_600_000)
        }

        @Test(
            "Default step gives about 60 nice buckets",
            arguments: [
                ("30s", 5), ("5m", 5), ("10m", 10), ("1h", 60), ("6h", 600), ("12h", 900), ("15h", 900), ("16h", 3600),
                ("24h", 3600),
                ("7d", 21_600),
                ("30d", 43_200), ("400d", 86_400),
            ] as [(String, Int64)]
        )
        func defaultStep(period: String, step: Int64) throws {
            let range = try TimeRange(period: period, step: nil, nowMs: Self.now)
            #expect(range.stepSeconds == step)
            #expect(range.periodSeconds / range.stepSeconds <= TimeRange.maximumPoints)
        }

        @Test func explicitStepIsKept() throws {
            let range = try TimeRange(period: "1h", step: "5m", nowMs: Self.now)
            #expect(range.stepSeconds == 300)
            #expect(try TimeRange(period: "1h", step: "1h", nowMs: 0).stepSeconds == 3600, "step equal to the period")
            #expect(try TimeRange(period: "2000s", step: "1s", nowMs: 0).stepSeconds == 1, "exactly 2000 points")
        }

        @Test func stepLongerThanThePeriodIsRefused() {
            let error = #expect(throws: ParameterError.self) {
                try TimeRange(period: "1h", step: "2h", nowMs: Self.now)
            }
            #expect(error?.parameter == "step")
            #expect(error?.message.contains("2h") == true)
        }

        @Test(arguments: [("30d", "30s"), ("1d", "30s"), ("2001s", "1s"), ("400d", "1h")])
        func tooManyPointsAreRefused(period: String, step: String) {
            let error = #expect(throws: ParameterError.self) {
                try TimeRange(period: period, step: step, nowMs: Self.now)
            }
            #expect(error?.parameter == "step")
            #expect(error?.message.contains("2000") == true)
        }

        @Test func badParametersNameThemselves() {
            let period = #expect(throws: ParameterError.self) { try TimeRange(period: "banana", step: nil, nowMs: 0) }
            #expect(period?.parameter == "period")
            let step = #expect(throws: ParameterError.self) { try TimeRange(period: "1h", step: "0s", nowMs: 0) }
            #expect(step?.parameter == "step")
        }
    }
}

extension QueryFormatTests {
    @Suite struct TimestampTests {
        @Test(
            "ISO 8601 UTC text",
            arguments: [
                (0, "1970-01-01T00:00:00Z"),
                (5, "1970-01-01T00:00:00.005Z"),
                (1_050, "1970-01-01T00:00:01.050Z"),
                (999, "1970-01-01T00:00:00.999Z"),
                (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
                (1_709_164_800_000, "2024-02-29T00:00:00Z"),
                (951_868_799_000, "2000-02-29T23:59:59Z"),
                (1_795_927_346_000, "2026-11-29T04:42:26Z"),
                (-1, "1969-12-31T23:59:59.999Z"),
                (-1_000, "1969-12-31T23:59:59Z"),
                (-86_400_000, "1969-12-31T00:00:00Z"),
                (-86_400_001, "1969-12-30T23:59:59.999Z"),
                (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            ] as [(Int64, String)]
        )
        func iso8601(ms: Int64, text: String) {
            #expect(Timestamp.iso8601(ms: ms) == text)
        }

        /// Foundation's formatter as an independent oracle over 1900...2200.
        @Test func agreesWithFoundationOverManyInstants() {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.formatOptions = [.withInternetDateTime]
            var ms: Int64 = -2_208_988_800_000
            while ms < 7_258_118_400_000 {
                let expected = formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
                #expect(Timestamp.iso8601(ms: ms) == expected)
                ms += 3_901_234_567_000
            }
        }
    }
}

extension QueryFormatTests {
    @Suite struct DayPartitionTests {
        struct Day: Sendable, CustomTestStringConvertible {
            var day: Int64
            var compact: String
            var testDescription: String { "\(day) = \(compact)" }
        }

        static let days: [Day] = [
            Day(day: 0, compact: "19700101"),
            Day(day: -1, compact: "19691231"),
            Day(day: -365, compact: "19690101"),
            Day(day: 11_016, compact: "20000229"),
            Day(day: 11_017, compact: "20000301"),
            Day(day: 19_782, compact: "20240229"),
            Day(day: -25_509, compact: "19000228"),
            Day(day: -25_508, compact: "19000301"),
            Day(day: 47_541, compact: "21000301"),
            Day(day: 20_786, compact: "20261129"),
            Day(day: -719_468, compact: "00000301"),
        ]

        @Test("Civil date of a day", arguments: days)
        func civilDate(day: Day) {
            let partition = DayPartition(day: day.day)
            #expect(partition.compact == day.compact)
            let year = day.compact.prefix(4)
            let month = day.compact.dropFirst(4).prefix(2)
            let dayOfMonth = day.compact.suffix(2)
            #expect(partition.startLiteral == "\(year)-\(month)-\(dayOfMonth) 00:00:00+00")
            #expect(partition.partitionName(of: "metrics") == "metrics_p\(day.compact)")
        }

        @Test func tupleFieldsMatchTheText() {
            let date = DayPartition(day: 11_016).date
            #expect(date.year == 2000)
            #expect(date.month == 2)
            #expect(date.day == 29)
        }

        @Test(
            "Timestamps map to the UTC day containing them",
            arguments: [
                (0, 0), (86_399_999, 0), (86_400_000, 1), (-1, -1), (-86_400_000, -1), (-86_400_001, -2),
                (1_709_210_096_789, 19_782),
            ] as [(Int64, Int64)]
        )
        func dayOfTimestamp(ms: Int64, day: Int64) {
            #expect(DayPartition(timestampMs: ms).day == day)
        }

        @Test func orderAndArithmetic() {
            #expect(DayPartition(day: -3) < DayPartition(day: 2))
            #expect(DayPartition(day: 10).adding(days: -11) == DayPartition(day: -1))
            #expect(DayPartition(day: 0).adding(days: 0).compact == "19700101")
        }

        /// Foundation's Gregorian calendar is proleptic only after 1582, so compare from 1600.
        @Test func agreesWithFoundationFrom1600To2400() throws {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
            var day: Int64 = -135_140
            while day < 157_800 {
                let date = Date(timeIntervalSince1970: Double(day) * 86_400)
                let parts = calendar.dateComponents([.year, .month, .day], from: date)
                let civil = DayPartition(day: day).date
                #expect(
                    [civil.year, civil.month, civil.day]
                        == [parts.year, parts.month, parts.day].map { Int64($0 ?? -1) },
                    "day \(day)"
                )
                day += 97
            }
        }
    }
}

extension QueryFormatTests {
    @Suite struct JSONValueTests {
        @Test func escapesQuotesBackslashesAndControlCharacters() {
            let value = JSONValue.string("a\"b\\c\nd\re\tf\u{1}g\u{1F}h\u{0}")
            #expect(value.encoded() == #""a\"b\\c\nd\re\tf\u0001g\u001fh\u0000""#)
        }

        @Test func nonASCIIIsWrittenAsIs() {
            #expect(JSONValue.string("é😀\u{2028}/\u{7F}").encoded() == "\"é😀\u{2028}/\u{7F}\"")
            #expect(JSONValue.string("\r\n").encoded() == #""\r\n""#, "a CR-LF grapheme is still two escapes")
        }

        @Test func everyControlCharacterSurvivesAFoundationParse() throws {
            let original =
                String(String.UnicodeScalarView((0..<UInt32(0x20)).compactMap { Unicode.Scalar($0) })) + "\"\\é😀"
            let data = Data(JSONValue.string(original).encoded().utf8)
            let parsed = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) as? String
            #expect(parsed == original)
        }

        @Test(
            "Numbers",
            arguments: [
                (1, "1"), (-3, "-3"), (0, "0"), (-0.0, "0"), (1.5, "1.5"), (0.1, "0.1"), (-2.25, "-2.25"),
                (123_456_789_012_345, "123456789012345"), (1e15, "1000000000000000.0"), (1e16, "1e+16"),
                (2.5e-7, "2.5e-07"),
            ] as [(Double, String)]
        )
        func numbers(value: Double, text: String) throws {
            let encoded = JSONValue.number(value).encoded()
            #expect(encoded == text)
            let parsed = try JSONSerialization.jsonObject(with: Data("[\(encoded)]".utf8)) as? [NSNumber]
            #expect(parsed?.first?.doubleValue == value, "\(encoded) is not a JSON number for \(value)")
        }

        @Test("Non-finite numbers become null", arguments: [Double.nan, .infinity, -.infinity, -Double.nan])
        func nonFiniteIsNull(value: Double) {
            #expect(JSONValue.number(value).encoded() == "null")
            #expect(JSONValue.number(Optional(value)) == .null)
        }

        @Test func absentNumberIsNull() {
            #expect(JSONValue.number(nil as Double?) == .null)
            #expect(JSONValue.number(Optional(2.0)) == .number(2))
        }

        @Test func objectKeysKeepInsertionOrder() {
            let value = JSONValue.object([("z", 1), ("a", "x"), ("m", nil), ("k\"ey", true)])
            #expect(value.encoded() == #"{"z":1,"a":"x","m":null,"k\"ey":true}"#)
            #expect(value != .object([("a", "x"), ("z", 1), ("m", nil), ("k\"ey", true)]), "order is part of equality")
            #expect(value["a"] == "x")
            #expect(value["absent"] == JSONValue?.none)
            #expect(JSONValue.array([1])["a"] == nil)
        }

        @Test func literalsAndNesting() throws {
            let value: JSONValue = [
                "a", 1, 2.5, true, false, nil, [], .object([]), .object([("inner", [1, [2]])]),
            ]
            #expect(value.encoded() == #"["a",1,2.5,true,false,null,[],{},{"inner":[1,[2]]}]"#)
            let parsed = try JSONSerialization.jsonObject(with: Data(value.encoded().utf8)) as? [Any]
            #expect(parsed?.count == 9)
        }

        @Test func writeAppendsToExistingText() {
            var out = "prefix:"
            JSONValue.bool(false).write(to: &out)
            #expect(out == "prefix:false")
        }
    }
}

extension QueryFormatTests {
    @Suite struct MetricsCopyEncoderTests {
        private static let header: [UInt8] =
            Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]

        private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
            withUnsafeBytes(of: value.bigEndian) { Array($0) }
        }

        @Test func emptyCopyIsHeaderAndTrailer() {
            let bytes = MetricsCopyEncoder.encode([], seriesIDs: [])
            #expect(bytes == Self.header + [0xFF, 0xFF])
            #expect(Array(bytes.prefix(11)) == [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])
        }

        @Test func rowLayoutIsThreeBigEndianFields() {
            let sample = Sample("m", value: 1.0, timestampMs: 946_684_800_001)
            let bytes = MetricsCopyEncoder.encode([sample], seriesIDs: [0x0102_0304_0506_0708])
            let row = Array(bytes.dropFirst(Self.header.count).dropLast(2))
            #expect(
                row == [0, 3]
                    + [0, 0, 0, 8] + [0, 0, 0, 0, 0, 0, 0x03, 0xE8]
                    + [0, 0, 0, 8] + [1, 2, 3, 4, 5, 6, 7, 8]
                    + [0, 0, 0, 8] + [0x3F, 0xF0, 0, 0, 0, 0, 0, 0]
            )
            #expect(bytes.count == 19 + 38 + 2)
            #expect(Array(bytes.suffix(2)) == [0xFF, 0xFF])
        }

        @Test(
            "Timestamps are microseconds since 2000-01-01",
            arguments: [0, 946_684_800_000, 1_795_927_346_123, -1, 9_000_000_000_000] as [Int64]
        )
        func timestampField(ms: Int64) {
            let bytes = MetricsCopyEncoder.encode([Sample("m", value: 0, timestampMs: ms)], seriesIDs: [1])
            let field = Array(bytes[(19 + 2 + 4)..<(19 + 2 + 4 + 8)])
            #expect(field == Self.bigEndian((ms - 946_684_800_000) * 1000))
        }

        @Test func valuesAreExactIncludingNaNAndInfinity() {
            let values: [Double] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, 0.1]
            let samples = values.map { Sample("m", value: $0, timestampMs: 0) }
            let ids: [Int64] = [1, 2, 3, -4, .max, 0]
            let bytes = MetricsCopyEncoder.encode(samples, seriesIDs: ids)
            #expect(bytes.count == 19 + 38 * values.count + 2)
            for (index, value) in values.enumerated() {
                let rowStart = 19 + 38 * index
                #expect(Array(bytes[rowStart..<(rowStart + 2)]) == [0, 3])
                #expect(Array(bytes[(rowStart + 18)..<(rowStart + 26)]) == Self.bigEndian(ids[index]))
                #expect(Array(bytes[(rowStart + 30)..<(rowStart + 38)]) == Self.bigEndian(value.bitPattern))
            }
        }
    }
}

extension QueryFormatTests {
    @Suite struct LabelsTests {
        @Test func canonicalKeyIsSortedByName() {
            let labels: Labels = ["mode": "user", "cpu": "0", "B": "x", "_p": "y", "a_b": "1", "ab": "2"]
            #expect(labels.canonicalKey == #"B="x",_p="y",a_b="1",ab="2",cpu="0",mode="user""#)
            #expect(labels.pairs.map(\.name) == ["B", "_p", "a_b", "ab", "cpu", "mode"])
        }

        @Test func decodedPairsAreSortedAndTheLastOfARepeatedNameWins() {
            let pair = { (name: String, value: String) in Labels.Pair(name: name, value: value) }
            let shuffled = Labels(decodedPairs: [pair("zone", "a"), pair("b", "1"), pair("zone", "c"), pair("a", "0")])
            #expect(shuffled == ["a": "0", "b": "1", "zone": "c"])
            #expect(shuffled.pairs.map(\.name) == ["a", "b", "zone"])
            let sorted = Labels(decodedPairs: [pair("a", "0"), pair("b", "1")])
            #expect(sorted == ["a": "0", "b": "1"])
            // Already sorted but for a repeat at the end: still deduplicated.
            #expect(Labels(decodedPairs: [pair("a", "0"), pair("a", "9")]) == ["a": "9"])
            #expect(Labels(decodedPairs: []).isEmpty)
        }

        @Test func emptyLabelsHaveAnEmptyKey() {
            #expect(Labels().canonicalKey == "")
            #expect(Labels().isEmpty)
            #expect(Labels(["a": ""]).canonicalKey == #"a="""#)
        }

        @Test func valuesAreEscapedLikePrometheus() {
            let labels = Labels(["path": "C:\\dir \"q\"\nnext"])
            #expect(labels.canonicalKey == #"path="C:\\dir \"q\"\nnext""#)
            #expect(Labels.escape("plain é") == "plain é")
            #expect(Labels.escape("\\\\") == #"\\\\"#)
        }

        @Test func setKeepsTheOrderAndReplaces() {
            var labels: Labels = ["b": "2"]
            labels.set("d", "4")
            labels.set("a", "1")
            labels.set("c", "3")
            labels.set("b", "two")
            #expect(labels.canonicalKey == #"a="1",b="two",c="3",d="4""#)
            #expect(labels == Labels(["d": "4", "c": "3", "b": "two", "a": "1"]))
            #expect(labels.count == 4)
            #expect(labels["c"] == "3")
            #expect(labels["e"] == nil)
        }

        @Test func equalSetsHashEqual() {
            let first: Labels = ["x": "1", "y": "2"]
            let second: Labels = ["y": "2", "x": "1"]
            #expect(first == second)
            #expect(Set([first, second]).count == 1)
        }

        /// The escape works on Characters, so a newline inside the CR-LF grapheme and a quote
        /// carrying a combining mark are left raw.
        @Test func escapingSeesEveryScalar() {
            #expect(Labels(["a": "x\r\ny"]).canonicalKey == "a=\"x\r\\ny\"")
            #expect(Labels(["a": "\"\u{301}"]).canonicalKey == "a=\"\\\"\u{301}\"")
            #expect(Labels(["a": "\\\u{301}"]).canonicalKey == "a=\"\\\\\u{301}\"")
        }

        /// The canonical key is the series identity, so two different label sets must never share one.
        @Test func distinctLabelSetsHaveDistinctKeys() {
            let one = Labels(["a": "x\u{600}\",b=\"\u{301}y"])
            let two = Labels(["a": "x\u{600}", "b": "\u{301}y"])
            #expect(one != two)
            #expect(one.canonicalKey != two.canonicalKey)
        }
    }
}
