public import Foundation

/// The embedded log: topics of partitions on local disk under one directory
/// (`<directory>/topics/<topic>/<partition>/<base offset>.log`), with a shared group-commit flusher.
public final class Log: Sendable {
    public let directory: String
    public let durability: DurabilityPolicy
    let flusher: Flusher?
    /// Where the files are: the real disk, or a simulated one in tests.
    public let fileSystem: any FileSystem
    let clock: @Sendable () -> Int64
    let topicsByName: Locked<[String: Topic]>
    /// What recovery repaired while opening, across all partitions.
    public let recoveryNotes: [RecoveryNote]
    /// Durable consumer-group offsets.
    public let consumerOffsets: ConsumerOffsets
    /// Producer ids given to Kafka clients.
    let producerIDs: ProducerIDs
    /// The Kafka broker's consumer groups (membership and assignments), one document per group.
    public let kafkaGroups: DurableDocuments
    /// The Kafka broker's transactions: one document per transactional id.
    public let kafkaTransactions: DurableDocuments

    /// Never writes: for reading a log that another process (`firestream up`) owns.
    public let readOnly: Bool

    /// Opens (or creates) the log in `directory`, recovering every partition. With `readOnly`,
    /// nothing is created, repaired or written, and partitions follow the writer via `refresh()`.
    public init(
        directory: String, durability: DurabilityPolicy = .default, readOnly: Bool = false, fileSystem: any FileSystem = PosixFileSystem(),
        clock: @escaping @Sendable () -> Int64 = wallClockMilliseconds
    ) throws(LogError) {
        self.directory = directory
        self.durability = durability
        self.readOnly = readOnly
        self.fileSystem = fileSystem
        self.clock = clock
        switch durability {
        case _ where readOnly: flusher = nil
        case .groupCommit(let window): flusher = Flusher(window: window, fsync: true)
        case .osBuffered: flusher = Flusher(window: .zero, fsync: false)
        }
        let topicsDirectory = "\(directory)/topics"
        if readOnly {
            guard fileSystem.fileExists(topicsDirectory) else { throw LogError.noData(directory) }
        } else if !fileSystem.fileExists(topicsDirectory) {
            if !fileSystem.fileExists(directory) {
                try fileSystem.createDirectory(directory)
                try fileSystem.syncDirectory(parent(of: directory))
            }
            try fileSystem.createDirectory(topicsDirectory)
            try fileSystem.syncDirectory(directory)
        }
        consumerOffsets = try ConsumerOffsets(directory: "\(directory)/groups", fileSystem: fileSystem, readOnly: readOnly)
        producerIDs = try ProducerIDs(directory: "\(directory)/kafka", fileSystem: fileSystem)
        kafkaGroups = DurableDocuments(directory: "\(directory)/kafka/groups", fileSystem: fileSystem, readOnly: readOnly)
        kafkaTransactions = DurableDocuments(directory: "\(directory)/kafka/transactions", fileSystem: fileSystem, readOnly: readOnly)
        var topics: [String: Topic] = [:]
        var notes: [RecoveryNote] = []
        for name in fileSystem.contentsOfDirectory(topicsDirectory) where !name.hasPrefix(".") {
            // topic.json is written before any partition: without it, the topic's creation was
            // cut short and holds nothing.
            let path = "\(topicsDirectory)/\(name)/topic.json"
            guard let data = fileSystem.readFile(path) else { continue }
            let metadata: TopicMetadata
            do {
                metadata = try JSONDecoder().decode(TopicMetadata.self, from: Data(data))
            } catch {
                throw LogError.damagedFile(path: path, reason: "not the topic's metadata: \(error)")
            }
            // The file is ours, but a damaged one must be an error, not a trap.
            guard metadata.name == name, (1...10_000).contains(metadata.partitions), metadata.settings.segmentBytes > 0,
                metadata.settings.indexIntervalBytes > 0
            else {
                throw LogError.invalidTopic(
                    name, reason: "\(topicsDirectory)/\(name)/topic.json is damaged (\(metadata.partitions) partitions); it is left as it is")
            }
            let topic = try Self.openTopic(
                metadata, in: topicsDirectory, durability: durability, flusher: flusher, fileSystem: fileSystem, clock: clock, readOnly: readOnly)
            notes += topic.partitions.flatMap(\.recoveryNotes)
            topics[name] = topic
        }
        topicsByName = Locked(topics)
        recoveryNotes = notes
    }

    static func openTopic(
        _ metadata: TopicMetadata, in topicsDirectory: String, durability: DurabilityPolicy, flusher: Flusher?, fileSystem: any FileSystem,
        clock: @escaping @Sendable () -> Int64, readOnly: Bool = false
    ) throws(LogError) -> Topic {
        var partitions: [PartitionLog] = []
        for index in 0..<metadata.partitions {
            partitions.append(
                try PartitionLog(
                    topic: metadata.name, partition: index, directory: "\(topicsDirectory)/\(metadata.name)/\(index)",
                    settings: metadata.settings, durability: durability, flusher: flusher, fileSystem: fileSystem, clock: clock, readOnly: readOnly))
        }
        return Topic(name: metadata.name, id: metadata.topicID, settings: metadata.settings, partitions: partitions)
    }

    /// Names of all topics, sorted.
    public var topicNames: [String] { topicsByName.withLock { $0.keys.sorted() } }

    public func topic(_ name: String) throws(LogError) -> Topic {
        guard let topic = topicsByName.withLock({ $0[name] }) else { throw LogError.unknownTopic(name) }
        return topic
    }

    public func topicIfExists(_ name: String) -> Topic? { topicsByName.withLock { $0[name] } }

    /// The topic whose id (Kafka's topic id) is `id`, if any.
    public func topic(id: UUID) -> Topic? { topicsByName.withLock { $0.values.first { $0.id == id } } }

    /// Creates a topic; its metadata is durable before this returns.
    @discardableResult
    public func createTopic(_ name: String, partitions: Int = 1, settings: PartitionSettings = PartitionSettings()) throws(LogError) -> Topic {
        guard !name.isEmpty, name != ".", name != "..", name.count <= 249,
            name.unicodeScalars.allSatisfy({
                CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-").contains($0)
            })
        else {
            throw LogError.invalidTopic(name, reason: "use 1–249 ASCII letters, digits, '.', '_' or '-'")
        }
        guard (1...10_000).contains(partitions) else {
            throw LogError.invalidTopic(name, reason: "partitions must be between 1 and 10000, got \(partitions)")
        }
        if readOnly { throw LogError.readOnly(directory) }
        return try topicsByName.withLock { topics throws(LogError) in
            if topics[name] != nil { throw LogError.topicExists(name) }
            let metadata = TopicMetadata(name: name, partitions: partitions, settings: settings, id: UUID().uuidString)
            let topicDirectory = "\(directory)/topics/\(name)"
            try metadata.write(to: topicDirectory, fileSystem: fileSystem)
            let topic = try Self.openTopic(
                metadata, in: "\(directory)/topics", durability: durability, flusher: flusher, fileSystem: fileSystem, clock: clock)
            topics[name] = topic
            return topic
        }
    }

    /// Returns the topic, creating it with `partitions` when it does not exist yet.
    public func ensureTopic(_ name: String, partitions: Int = 1, settings: PartitionSettings = PartitionSettings()) throws(LogError) -> Topic {
        if let topic = topicIfExists(name) { return topic }
        do {
            return try createTopic(name, partitions: partitions, settings: settings)
        } catch .topicExists {
            return try topic(name)
        }
    }

    /// Deletes a topic and its data.
    public func deleteTopic(_ name: String) throws(LogError) {
        if readOnly { throw LogError.readOnly(directory) }
        let topic = try topicsByName.withLock { topics throws(LogError) in
            guard let topic = topics.removeValue(forKey: name) else { throw LogError.unknownTopic(name) }
            return topic
        }
        for partition in topic.partitions { partition.close() }
        let path = "\(directory)/topics/\(name)"
        let graveyard = "\(directory)/topics/.deleted-\(name)-\(UUID().uuidString)"
        try fileSystem.rename(path, to: graveyard)
        try fileSystem.syncDirectory("\(directory)/topics")
        fileSystem.removeTree(graveyard)
    }

    /// Applies every topic's retention; returns the number of segments deleted.
    @discardableResult
    public func enforceRetention() -> Int {
        let now = clock()
        return topicsByName.withLock { Array($0.values) }.flatMap(\.partitions).reduce(0) { $0 + $1.enforceRetention(now: now) }
    }

    /// Flushes what was appended, stops the flusher and releases all waiters.
    public func close() {
        flusher?.stop()
        for topic in topicsByName.withLock({ Array($0.values) }) {
            for partition in topic.partitions { partition.close() }
        }
    }
}

/// A topic's durable description, `topic.json` in its directory.
struct TopicMetadata: Codable, Equatable {
    var name: String
    var partitions: Int
    var settings: PartitionSettings
    /// A random UUID given at creation (Kafka's topic id). Topics created before ids existed
    /// have none stored and get one derived from their name, the same on every start.
    var id: String?

    var topicID: UUID {
        if let id, let uuid = UUID(uuidString: id) { return uuid }
        var mixer = SplitMix64(seed: fnv1a64(name))
        let (high, low) = (mixer.next(), mixer.next())
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
        }
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// Writes atomically and durably: temp file, fsync, rename, fsync the directories.
    func write(to topicDirectory: String, fileSystem: any FileSystem) throws(LogError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else {
            throw LogError.io(path: topicDirectory, operation: "encode topic metadata", errno: EINVAL)
        }
        try fileSystem.createDirectory(topicDirectory)
        try fileSystem.replaceDurably("\(topicDirectory)/topic.json", with: [UInt8](data))
        try fileSystem.syncDirectory(parent(of: topicDirectory))
    }
}
