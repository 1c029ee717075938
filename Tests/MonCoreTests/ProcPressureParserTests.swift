import MonTestSupport
import Testing

@testable import MonCore

@Suite struct ProcPressureParserTests {
    @Test func parsesTheCapturedCPUFile() throws {
        let pressure = try PressureParser.parse(ProcFixtures.bytes("pressure/cpu"))
        #expect(
            pressure.some == Pressure.Stall(avg10: 11.24, avg60: 20.49, avg300: 9.31, totalMicroseconds: 38_214_926))
        #expect(pressure.full?.totalMicroseconds == 0)
    }

    @Test(arguments: ["cpu", "memory", "io"])
    func parsesEveryCapturedResource(_ resource: String) throws {
        let pressure = try PressureParser.parse(ProcFixtures.bytes("pressure/" + resource))
        #expect(pressure.full != nil)
        #expect(pressure.some.avg10 >= 0 && pressure.some.avg10 <= 100)
    }

    @Test func fullLineIsOptional() throws {
        let pressure = try PressureParser.parse(Array("some avg10=1.00 avg60=2.00 avg300=3.00 total=42\n".utf8))
        #expect(pressure.full == nil)
        #expect(pressure.some.avg300 == 3)
    }

    @Test(arguments: [
        ProcInput("empty", ""),
        ProcInput("truncated", "some avg10=5.52 avg60=20.4"),
        ProcInput("only full", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
        ProcInput("garbage", "under pressure\n"),
        ProcInput("wrong key", "some avg11=1 avg60=2 avg300=3 total=4\n"),
        ProcInput("bad kind", "most avg10=1 avg60=2 avg300=3 total=4\n"),
        ProcInput("bad number", "some avg10=x avg60=2 avg300=3 total=4\n"),
    ])
    func badInputThrows(_ input: ProcInput) {
        #expect(throws: ProcParseError.self) { try PressureParser.parse(input.bytes) }
    }
}
