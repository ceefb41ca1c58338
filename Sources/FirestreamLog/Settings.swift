/// When an append counts as done.
public enum DurabilityPolicy: Sendable, Equatable {
    /// Acknowledge only after `fdatasync`. One sync covers every append (from any producer, to any
    /// partition) that arrived while the previous sync ran, plus those arriving within `window`:
    /// with the default zero window, latency is one sync and batching grows with load.
    case groupCommit(window: Duration = .zero)
    /// Acknowledge after `write(2)`: survives the process being killed, not a power loss.
    case osBuffered

    public static let `default` = DurabilityPolicy.groupCommit()
}

/// Per-partition storage settings.
public struct PartitionSettings: Sendable, Equatable, Codable {
    /// Roll to a new segment when the active one would exceed this many bytes.
    public var segmentBytes: Int64 = 128 << 20
    /// Roll to a new segment when the active one is older than this.
    public var segmentMilliseconds: Int64 = 7 * 86_400_000
    /// Bytes between entries of the sparse offset and time indexes.
    public var indexIntervalBytes: Int = 4096
    /// Delete sealed segments whose newest record is older than this (nil: keep forever).
    public var retentionMilliseconds: Int64? = 7 * 86_400_000
    /// Delete the oldest sealed segments while the partition is larger than this (nil: no limit).
    public var retentionBytes: Int64?

    public init(
        segmentBytes: Int64 = 128 << 20, segmentMilliseconds: Int64 = 7 * 86_400_000, indexIntervalBytes: Int = 4096,
        retentionMilliseconds: Int64? = 7 * 86_400_000, retentionBytes: Int64? = nil
    ) {
        self.segmentBytes = segmentBytes
        self.segmentMilliseconds = segmentMilliseconds
        self.indexIntervalBytes = indexIntervalBytes
        self.retentionMilliseconds = retentionMilliseconds
        self.retentionBytes = retentionBytes
    }
}

/// What recovery found and repaired in one partition.
public struct RecoveryNote: Sendable, Equatable, CustomStringConvertible {
    public var topic: String
    public var partition: Int
    public var segment: String
    public var truncatedBytes: Int64
    public var reason: String

    public var description: String {
        "\(topic)/\(partition): truncated \(truncatedBytes) byte(s) at the end of \(segment): \(reason)"
    }
}

/// Milliseconds since the Unix epoch, from the system clock.
@Sendable public func wallClockMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
