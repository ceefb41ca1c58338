public import FirestreamFormats
public import FirestreamLog

extension StartPositions {
    /// The first offset to read from partition `index` of `topic`, clamped to what it holds.
    /// WebSocket subscriptions, REST reads and `topics tail` all resolve their start here.
    public func start(in storage: any RecordStorage, topic: String, index: Int, now: Int64) async throws -> Int64 {
        // Readers see committed records: the end is the last stable offset.
        let bounds = try await storage.bounds(of: topic, partition: index)
        var sinceOffset: Int64?
        if case .since(let milliseconds) = rule {
            sinceOffset = try await storage.offset(of: topic, partition: index, atTimestamp: now - milliseconds)
        }
        return start(bounds: bounds, index: index, sinceOffset: sinceOffset)
    }

    /// The same for a partition of the embedded log (`topics tail` reads it read-only).
    public func start(in partition: PartitionLog, index: Int, now: Int64) -> Int64 {
        var sinceOffset: Int64?
        if case .since(let milliseconds) = rule { sinceOffset = try? partition.offset(forTimestamp: now - milliseconds) }
        let first = partition.startOffset
        return start(bounds: first..<max(first, partition.lastStableOffset), index: index, sinceOffset: sinceOffset)
    }

    /// The start in a partition holding `bounds`, where `sinceOffset` is the first record of the
    /// `since` rule's window (nil: none, or another rule).
    func start(bounds: Range<Int64>, index: Int, sinceOffset: Int64?) -> Int64 {
        let end = bounds.upperBound
        let wanted: Int64
        switch rule {
        case .latest: wanted = end
        case .earliest: wanted = bounds.lowerBound
        case .last(let count): wanted = end - count
        case .offset(let offset): wanted = offset
        case .perPartition(let offsets): wanted = offsets[index] ?? end
        case .since: wanted = sinceOffset ?? end
        }
        return min(max(wanted, bounds.lowerBound), end)
    }
}
