import Dispatch

/// Runs blocking file work (fsync, small durable files) on a thread outside Swift's cooperative
/// pool: with two cores there are two cooperative threads, and one blocked on the disk would
/// stall half of every task in the process.
public enum BlockingIO {
    private static let queue = DispatchQueue(label: "firestream-blocking-io", attributes: .concurrent)

    /// The result of `work`, computed on the blocking-I/O queue.
    public static func run<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result(catching: work)) }
        }
        return try result.get()
    }
}
