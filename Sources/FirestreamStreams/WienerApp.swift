#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

import FirestreamJSON

/// The demo's stateful app: per device it keeps the previous reading's time and a running
/// position (starting at 0); for each reading after the first it advances the position by
/// `dW = (direction == 1 ? 1 : −1) · magnitude · dt` with `dt = (tₙ − tₙ₋₁) / 1000` and emits
/// `{device_id, event_time, measurement: position, increment: dW}`.
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
        guard let magnitude else { throw BadReading(description: "missing number \"magnitude\"") }
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
        let dt = Double(reading.eventTime - current.lastEventTime) / 1000
        let increment = (reading.direction == 1 ? 1.0 : -1.0) * reading.magnitude * dt
        current.position += increment
        current.lastEventTime = reading.eventTime
        state = current
        return [Point(deviceID: reading.deviceID, eventTime: reading.eventTime, measurement: current.position, increment: increment)]
    }
}
