public import FirestreamFormats
public import FirestreamLog

extension StartPositions {
    /// The first offset to read from `partition` (index `index` of its topic), clamped to what it
    /// holds. WebSocket subscriptions, REST reads and `topics tail` all resolve their start here.
    public func start(in partition: PartitionLog, index: Int, now: Int64) -> Int64 {
        let first = partition.startOffset
        // Readers see committed records: the end is the last stable offset.
        let end = partition.lastStableOffset
        let wanted: Int64
        switch rule {
        case .latest: wanted = end
        case .earliest: wanted = first
        case .last(let count): wanted = end - count
        case .offset(let offset): wanted = offset
        case .perPartition(let offsets): wanted = offsets[index] ?? end
        case .since(let milliseconds): wanted = (try? partition.offset(forTimestamp: now - milliseconds)) ?? end
        }
        return min(max(wanted, first), end)
    }
}
