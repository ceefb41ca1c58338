/// Tuning of the per-partition loop.
public struct TaskLimits: Sendable {
    /// Records consumed per step (one journal commit).
    public var maxRecordsPerStep = 8192
    /// Bytes fetched from an input partition per read.
    public var maxFetchBytes = 1 << 20
    /// Journal bytes between snapshots: smaller means faster restarts and less disk, more writes.
    /// Journal segments before the newest durable snapshot are deleted.
    public var snapshotEveryBytes: Int64 = 64 << 20

    /// Segment size of the journal topic, the unit in which it is deleted: a quarter of the
    /// snapshot interval (4 KiB to 16 MiB), so at most about 1.25 intervals stay on disk.
    public var journalSegmentBytes: Int64 { min(16 << 20, max(4096, snapshotEveryBytes / 4)) }

    public init(maxRecordsPerStep: Int = 8192, maxFetchBytes: Int = 1 << 20, snapshotEveryBytes: Int64 = 64 << 20) {
        self.maxRecordsPerStep = maxRecordsPerStep
        self.maxFetchBytes = maxFetchBytes
        self.snapshotEveryBytes = snapshotEveryBytes
    }
}
