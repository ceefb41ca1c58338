/// Hands out producer ids to Kafka clients (InitProducerId), never the same one twice, across
/// restarts and crashes: ids are reserved in blocks whose end is written durably before any id
/// of the block is given out, and a restart continues after the last reserved block.
final class ProducerIDs: Sendable {
    /// Ids reserved per durable write.
    static let blockSize: Int64 = 1000
    private let path: String
    private let fileSystem: any FileSystem
    private let state: Locked<(next: Int64, reservedEnd: Int64)>

    init(directory: String, fileSystem: any FileSystem) throws(LogError) {
        path = "\(directory)/producer-ids"
        self.fileSystem = fileSystem
        var end: Int64 = 1
        if let bytes = fileSystem.readFile(path) {
            let text = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace)
            guard text.count == 1, let stored = Int64(text[0]), stored >= 1 else {
                throw LogError.damagedFile(path: path, reason: "not the end of the reserved producer ids (a positive number)")
            }
            end = stored
        }
        state = Locked((end, end))
    }

    func next() throws(LogError) -> Int64 {
        try state.withLock { state throws(LogError) in
            if state.next == state.reservedEnd {
                let end = state.reservedEnd + Self.blockSize
                let directory = parent(of: path)
                if !fileSystem.fileExists(directory) {
                    // The new directory's entry must be durable too, or a crash loses the file in it.
                    try fileSystem.createDirectory(directory)
                    try fileSystem.syncDirectory(parent(of: directory))
                }
                try fileSystem.replaceDurably(path, with: Array("\(end)\n".utf8))
                state.reservedEnd = end
            }
            defer { state.next += 1 }
            return state.next
        }
    }
}

extension Log {
    /// A producer id no one has had, for a Kafka client's idempotent producer.
    public func newProducerID() throws(LogError) -> Int64 {
        if readOnly { throw LogError.readOnly(directory) }
        return try producerIDs.next()
    }
}
