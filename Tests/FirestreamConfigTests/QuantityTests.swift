import FirestreamFormats
import Testing

@testable import FirestreamConfig

@Suite struct QuantityTests {
    @Test(arguments: [
        ("200m", 0.2), ("0.5", 0.5), ("2", 2.0), ("1500m", 1.5), (".5", 0.5), ("2e0", 2.0), ("1m", 0.001),
    ])
    func parsesCPU(_ text: String, _ cores: Double) throws {
        let quantity = try Quantity.parse(text, as: .cpu)
        #expect(abs(quantity.value - cores) < 1e-12)
        #expect(quantity.text == text)
    }

    @Test(arguments: [
        ("128Mi", 134_217_728.0), ("1Gi", 1_073_741_824.0), ("500M", 5e8), ("1e9", 1e9), ("1k", 1000.0),
        ("64Ki", 65536.0), ("1.5Gi", 1_610_612_736.0), ("0", 0.0), ("2E3", 2000.0),
    ])
    func parsesBytes(_ text: String, _ bytes: Double) throws {
        #expect(try Quantity.parse(text, as: .bytes).value == bytes)
    }

    @Test(arguments: ["", "m", "1.2.3", "abc", "1 Gi", "1gi", "0.0001", "1Mi"])
    func rejectsBadCPU(_ text: String) {
        #expect(throws: Quantity.Problem.self) { try Quantity.parse(text, as: .cpu) }
    }

    @Test(arguments: ["", "12MB", "1GB", "128m", "5u", "Gi", "1.5.5Gi", "-1"])
    func rejectsBadMemory(_ text: String) {
        #expect(throws: Quantity.Problem.self) { try Quantity.parse(text, as: .bytes) }
    }

    /// What `validate` used to accept and `up` then trapped on, or looped over for minutes.
    @Test func outOfRangeQuantitiesAreRefusedQuickly() throws {
        let started = ContinuousClock.now
        for (text, message) in [
            ("8Ei", "\"8Ei\" is too large (at most 8Ei - 1 bytes, about 9.2e18)"),
            ("1e30", "\"1e30\" is too large (at most 8Ei - 1 bytes, about 9.2e18)"),
            ("1e99999999999", "\"1e99999999999\" is out of range (the exponent must be between -40 and 40)"),
            ("1e-99999999999", "\"1e-99999999999\" is out of range (the exponent must be between -40 and 40)"),
        ] {
            #expect(throws: Quantity.Problem(message: message, hint: nil)) { try Quantity.parse(text, as: .bytes) }
        }
        #expect(throws: Quantity.Problem.self) { try Quantity.parse("1e20", as: .cpu) }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(try Quantity.parse("7Ei", as: .bytes).wholeUnits == 7 << 60)
        #expect(try Quantity.parse("9e18", as: .bytes).wholeUnits == 9_000_000_000_000_000_000)
    }

    @Test func durations() {
        #expect(TimeSpan.parse("7d")?.milliseconds == 604_800_000)
        #expect(TimeSpan.parse("500ms")?.milliseconds == 500)
        #expect(TimeSpan.parse("15m")?.milliseconds == 900_000)
        #expect(TimeSpan.parse("2w")?.milliseconds == 1_209_600_000)
        for bad in ["", "7", "d", "0s", "1.5h", "7 d", "-1d", "99999999999999999w"] {
            #expect(TimeSpan.parse(bad) == nil, "\(bad)")
        }
    }
}
