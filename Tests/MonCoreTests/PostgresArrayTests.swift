import MonCore
import MonTestSupport
import Testing

/// The byte-level integer parsers that read libpq's buffers (`PostgresResult.int`,
/// `integers`) give what `Int64(String)` and the old `split`-based parser gave.
struct PostgresArrayTests {
    static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { PostgresArray.parseInteger(UnsafeRawBufferPointer($0)) }
    }

    @Test(
        "one integer as Int64(text) reads it",
        arguments: [
            "0", "-0", "+7", "42", "-42", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "-9223372036854775809", "", "-", "+", "1e3", " 1", "1 ", "0x10", "١٢", "12a", "--1", "99999999999999999999",
        ]
    )
    func oneInteger(text: String) {
        #expect(Self.parse(text) == Int64(text))
    }

    @Test("random texts of digits, signs and other bytes: the same answer as Int64(text)")
    func randomIntegers() {
        var random = SeededGenerator(state: 21)
        let alphabet = Array("0123456789-+ ,x9")
        for _ in 0..<20_000 {
            let text = String(
                (0..<Int.random(in: 0...21, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            #expect(Self.parse(text) == Int64(text), "\(text)")
        }
    }

    @Test("arrays: elements that are not integers are skipped, anything but {…} is empty")
    func arrays() {
        #expect(PostgresArray.parseIntegers("{1,-2,3}") == [1, -2, 3])
        #expect(PostgresArray.parseIntegers("{}") == [])
        #expect(PostgresArray.parseIntegers("{NULL,5,99999999999999999999,-6}") == [5, -6])
        #expect(PostgresArray.parseIntegers("{1,,2}") == [1, 2])
        #expect(PostgresArray.parseIntegers("1,2") == [] && PostgresArray.parseIntegers("{1,2") == [])
        #expect(PostgresArray.parseIntegers("") == [] && PostgresArray.parseIntegers("{") == [])
        #expect(
            PostgresArray.parseIntegers(PostgresArray.integers([Int64.min, 0, Int64.max])) == [Int64.min, 0, Int64.max])
    }
}
