import Foundation

extension Log {
    /// Grows topic `name` to `count` partitions (Kafka's CreatePartitions). The new partitions
    /// are created empty before the topic's metadata names them, durably: a crash in between
    /// leaves only empty directories, which the next start ignores. Existing partitions and their
    /// records are untouched; keys map to partitions differently from now on, as in Kafka.
    @discardableResult
    public func addPartitions(_ name: String, to count: Int) throws(LogError) -> Topic {
        if readOnly { throw LogError.readOnly(directory) }
        guard (1...10_000).contains(count) else {
            throw LogError.invalidTopic(name, reason: "partitions must be between 1 and 10000, got \(count)")
        }
        return try topicsByName.withLock { topics throws(LogError) in
            guard let old = topics[name] else { throw LogError.unknownTopic(name) }
            guard count > old.partitions.count else {
                throw LogError.invalidTopic(name, reason: "it has \(old.partitions.count) partition(s); a topic can only grow")
            }
            let topicDirectory = "\(directory)/topics/\(name)"
            var partitions = old.partitions
            for index in old.partitions.count..<count {
                partitions.append(
                    try PartitionLog(
                        topic: name, partition: index, directory: "\(topicDirectory)/\(index)", settings: old.settings, durability: durability,
                        flusher: flusher, fileSystem: fileSystem, clock: clock))
            }
            let metadata = TopicMetadata(name: name, partitions: count, settings: old.settings, id: old.id.uuidString)
            try metadata.write(to: topicDirectory, fileSystem: fileSystem)
            let topic = Topic(name: name, id: old.id, settings: old.settings, partitions: partitions)
            topics[name] = topic
            return topic
        }
    }
}
