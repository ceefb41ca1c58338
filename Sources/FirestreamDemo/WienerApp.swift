import FirestreamJSON
public import FirestreamStreams

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The demo's stateful app: per device it keeps the previous reading's time and a running
/// position (starting at 0); for each reading after the first it advances the position by
/// `dW = (direction == 1 ? 1 : −1) · magnitude · √dt` with `dt = (tₙ − tₙ₋₁) / 1000` seconds (a
/// Wiener process's increments scale with the square root of the time step) and emits
/// `{device_id, event_time, measurement: position, increment: dW}`. A reading that is not later
/// than the device's previous one moves nothing (dt = 0).
///
/// Readings are checked before use: `event_time` must be a whole number of milliseconds within
/// ±2^53, `magnitude` a number in 0...1e6; anything else is a dead letter, never a trap.
public struct WienerApp: StreamApp {
    public struct Reading: Sendable, Equatable {
        public var deviceID: String
        public var eventTime: Int64
        public var magnitude: Double
        public var direction: Int

        public init(deviceID: String, eventTime: Int64, magnitude: Double, direction: Int) {
            self.deviceID = deviceID
            self.eventTime = eventTime
            self.magnitude = magnitude
            self.direction = direction
        }
    }

    public struct Point: Sendable, Equatable {
        public var deviceID: String
        public var eventTime: Int64
        public var measurement: Double
        public var increment: Double

        public init(deviceID: String, eventTime: Int64, measurement: Double, increment: Double) {
            self.deviceID = deviceID
            self.eventTime = eventTime
            self.measurement = measurement
            self.increment = increment
        }
    }

    public struct State: Codable, Sendable, Equatable {
        public var lastEventTime: Int64
        public var position: Double
    }

    public struct BadReading: Error, CustomStringConvertible {
        public var description: String
    }

    public let name: String
    public let inputTopics: [String]
    public let outputTopic: String

    public init(name: String = "wiener", input: String = "metronome", output: String = "wiener") {
        self.name = name
        self.inputTopics = [input]
        self.outputTopic = output
    }

    /// Event times beyond this many milliseconds (2^53, about 285,000 years) are refused.
    public static let maxEventTime = 0x1p53
    /// The largest magnitude a reading may carry.
    public static let maxMagnitude = 1e6

    public func decode(_ value: [UInt8]) throws -> Reading {
        var device: String?
        var time: Double?
        var magnitude: Double?
        var direction: Double?
        try FlatJSONObject.scan(value) { key, field in
            switch field {
            case .string(let text) where matches(key, "device_id"): device = text
            case .number(let number) where matches(key, "event_time"): time = number
            case .number(let number) where matches(key, "magnitude"): magnitude = number
            case .number(let number) where matches(key, "direction"): direction = number
            default: break
            }
        }
        guard let device else { throw BadReading(description: "missing string \"device_id\"") }
        guard let time else { throw BadReading(description: "missing number \"event_time\"") }
        guard time.magnitude <= Self.maxEventTime, time == time.rounded() else {
            throw BadReading(description: "\"event_time\" must be whole milliseconds within ±2^53, got \(time)")
        }
        guard let magnitude else { throw BadReading(description: "missing number \"magnitude\"") }
        guard (0...Self.maxMagnitude).contains(magnitude) else {
            throw BadReading(description: "\"magnitude\" must be between 0 and \(Self.maxMagnitude), got \(magnitude)")
        }
        guard let direction, direction == 0 || direction == 1 else {
            throw BadReading(description: "\"direction\" must be 0 or 1")
        }
        return Reading(deviceID: device, eventTime: Int64(time), magnitude: magnitude, direction: Int(direction))
    }

    private func matches(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        key.count == name.utf8CodeUnitCount && memcmp(key.baseAddress!, name.utf8Start, key.count) == 0
    }

    public func encode(_ point: Point) throws -> [UInt8] {
        var json = FlatJSONWriter()
        json.field("device_id", point.deviceID)
        json.field("event_time", point.eventTime)
        json.field("measurement", point.measurement)
        json.field("increment", point.increment)
        return json.finished()
    }

    public func key(for input: Reading) -> String? { input.deviceID }
    public func key(for output: Point) -> String? { output.deviceID }

    public func process(_ reading: Reading, state: inout State?, context: inout ProcessingContext) -> [Point] {
        guard var current = state else {
            state = State(lastEventTime: reading.eventTime, position: 0)
            return []
        }
        let dt = Double(max(0, reading.eventTime - current.lastEventTime)) / 1000
        let increment = (reading.direction == 1 ? 1.0 : -1.0) * reading.magnitude * dt.squareRoot()
        current.position += increment
        current.lastEventTime = max(current.lastEventTime, reading.eventTime)
        state = current
        return [Point(deviceID: reading.deviceID, eventTime: reading.eventTime, measurement: current.position, increment: increment)]
    }
}
