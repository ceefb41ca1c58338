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
