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
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
