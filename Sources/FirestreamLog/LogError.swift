/// Errors of the storage engine, each naming the file or topic involved.
public enum LogError: Error, Equatable, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)
    case topicExists(String)
    case unknownTopic(String)
    case unknownPartition(topic: String, partition: Int)
    case invalidTopic(String, reason: String)
    case offsetOutOfRange(requested: Int64, start: Int64, end: Int64)
    case corruptBatch(path: String, position: Int64, reason: String)
    case closed
    case readOnly(String)
    case noData(String)
    case outOfOrderSequence(topic: String, partition: Int, producerId: Int64, expected: Int32, got: Int32)
    case fencedProducer(topic: String, partition: Int, producerId: Int64, epoch: Int16)
    /// A file of the log's own (topic metadata, committed offsets) cannot be read back.
    case damagedFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .io(let path, let operation, let code):
            "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .topicExists(let name): "topic \"\(name)\" already exists"
        case .unknownTopic(let name): "unknown topic \"\(name)\""
        case .unknownPartition(let topic, let partition): "topic \"\(topic)\" has no partition \(partition)"
        case .invalidTopic(let name, let reason): "invalid topic \"\(name)\": \(reason)"
        case .offsetOutOfRange(let requested, let start, let end):
            "offset \(requested) is out of range; the partition holds offsets \(start)..<\(end)"
        case .corruptBatch(let path, let position, let reason):
            "corrupt record batch in \(path) at byte \(position): \(reason); it will not be served"
        case .closed: "the log is closed"
        case .readOnly(let directory): "the log in \(directory) is open read-only"
        case .noData(let directory): "no log data in \(directory) yet (run `firestream up` first)"
        case .outOfOrderSequence(let topic, let partition, let producer, let expected, let got):
            "producer \(producer) sent sequence \(got) to \(topic)/\(partition), expected \(expected)"
        case .fencedProducer(let topic, let partition, let producer, let epoch):
            "producer \(producer) was fenced on \(topic)/\(partition) by a newer epoch than \(epoch)"
        case .damagedFile(let path, let reason):
            "\(path) cannot be read back (\(reason)); it is left exactly as it is. Restore it from a backup, or move it aside to "
                + "start over for what it describes"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
