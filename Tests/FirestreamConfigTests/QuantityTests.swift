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

    @Test func durations() {
        #expect(ConfigDuration.parse("7d")?.milliseconds == 604_800_000)
        #expect(ConfigDuration.parse("500ms")?.milliseconds == 500)
        #expect(ConfigDuration.parse("15m")?.milliseconds == 900_000)
        #expect(ConfigDuration.parse("2w")?.milliseconds == 1_209_600_000)
        for bad in ["", "7", "d", "0s", "1.5h", "7 d", "-1d", "99999999999999999w"] {
            #expect(ConfigDuration.parse(bad) == nil, "\(bad)")
        }
    }
}
