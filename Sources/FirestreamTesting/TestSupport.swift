import FirestreamLog

/// Waits for `condition`, checking every `interval`, for up to `limit`; throws `Timeout` naming
/// `what` when it never holds. Tests wait for conditions, never for fixed times.
public func eventually(
    _ what: String, within limit: Duration = .seconds(30), every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw Timeout(description: "timed out after \(limit) waiting for \(what)")
}

/// A condition a test waited for never held.
public struct Timeout: Error, CustomStringConvertible {
    public var description: String
}

/// A value shared between a test's tasks.
public final class Shared<Value: Sendable>: Sendable {
    private let storage: Locked<Value>

    public init(_ value: Value) { storage = Locked(value) }

    public var value: Value { storage.withLock { $0 } }

    public func update(_ change: (inout Value) -> Void) { storage.withLock { change(&$0) } }
}

/// SplitMix64: small, well mixed and seeded, so a failing run can be replayed from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}
