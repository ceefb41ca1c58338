public import FirestreamLog
public import Foundation
public import KafkaWire

/// A directory of its own for one test, created now and removed when released.
public final class TemporaryDirectory: Sendable {
    public let url: URL
    public var path: String { url.path }

    public init(_ prefix: String = "firestream-test") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` to the file `name` inside the directory.
    public func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent(name))
    }

    public func read(_ name: String) throws -> String {
        try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
    }

    /// The segment files of a partition of a log kept in this directory, oldest first.
    public func segmentFiles(_ topic: String, _ partition: Int = 0) -> [String] {
        let directory = "\(path)/topics/\(topic)/\(partition)"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
            .map { "\(directory)/\($0)" }
    }
}

/// A log in a temporary directory, closed and removed when released.
public final class ScratchLog: Sendable {
    public let directory = TemporaryDirectory("firestream-log")
    public let log: Log

    public init() throws { log = try Log(directory: directory.path) }

    deinit { log.close() }
}

/// Every durable record of `partition` from `offset` (its start by default), across segments.
public func drain(_ partition: PartitionLog, from offset: Int64? = nil) throws -> [ConsumerRecord] {
    var reader = PartitionReader(partition, from: offset ?? partition.startOffset, whenRemoved: .fail)
    var records: [ConsumerRecord] = []
    while case let batch = try reader.poll(maxBytes: 1 << 16), !batch.isEmpty { records += batch.records }
    return records
}

/// Every durable record of every partition of `topic`, partition by partition.
public func drain(_ topic: Topic) throws -> [ConsumerRecord] {
    try topic.partitions.flatMap { try drain($0) }
}
