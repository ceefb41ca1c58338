import Foundation

/// Committed consumer-group offsets, one durable JSON file per group
/// (`groups/<group>.json`: topic → partition → next offset to read, or, when the committer left a
/// note with it (Kafka's commit metadata), `{"offset": N, "metadata": "…"}`).
public final class ConsumerOffsets: Sendable {
    /// One committed position.
    public struct Entry: Sendable, Equatable, Codable {
        public var offset: Int64
        public var metadata: String?

        public init(offset: Int64, metadata: String? = nil) {
            self.offset = offset
            self.metadata = metadata
        }

        /// A bare number when there is no metadata (the format before metadata existed).
        public init(from decoder: any Decoder) throws {
            if let offset = try? decoder.singleValueContainer().decode(Int64.self) {
                self.init(offset: offset)
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                offset: try container.decode(Int64.self, forKey: .offset), metadata: try container.decodeIfPresent(String.self, forKey: .metadata))
        }

        public func encode(to encoder: any Encoder) throws {
            guard let metadata, !metadata.isEmpty else {
                var container = encoder.singleValueContainer()
                try container.encode(offset)
                return
            }
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(offset, forKey: .offset)
            try container.encode(metadata, forKey: .metadata)
        }

        private enum CodingKeys: String, CodingKey { case offset, metadata }
    }

    /// One position to commit.
    public struct Commit: Sendable {
        public var topic: String
        public var partition: Int
        public var entry: Entry

        public init(topic: String, partition: Int, entry: Entry) {
            self.topic = topic
            self.partition = partition
            self.entry = entry
        }
    }

    private let directory: String
    private let fileSystem: any FileSystem
    private let groups: Locked<[String: [String: [Int: Entry]]]>
    /// Serializes file writes per log, so the newest commit of a group is the last one written.
    private let writes = Locked<Void>(())
    private let readOnly: Bool

    init(directory: String, fileSystem: any FileSystem, readOnly: Bool = false) throws(LogError) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.readOnly = readOnly
        if !readOnly && !fileSystem.fileExists(directory) {
            try fileSystem.createDirectory(directory)
            try fileSystem.syncDirectory(parent(of: directory))
        }
        var loaded: [String: [String: [Int: Entry]]] = [:]
        for name in fileSystem.contentsOfDirectory(directory) where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            guard let data = fileSystem.readFile(path) else { continue }
            // Forgetting a group's offsets would resend (or skip) everything it consumed: refuse.
            let offsets: [String: [String: Entry]]
            do {
                offsets = try JSONDecoder().decode([String: [String: Entry]].self, from: Data(data))
            } catch {
                throw LogError.damagedFile(path: path, reason: "not a consumer group's offsets: \(error)")
            }
            loaded[String(name.dropLast(5))] = offsets.mapValues { partitions in
                Dictionary(uniqueKeysWithValues: partitions.compactMap { key, value in Int(key).map { ($0, value) } })
            }
        }
        groups = Locked(loaded)
    }

    /// The next offset `group` should read from `topic`/`partition`, if it ever committed one.
    public func committed(group: String, topic: String, partition: Int) -> Int64? {
        groups.withLock { $0[group]?[topic]?[partition]?.offset }
    }

    /// Everything `group` committed: topic → partition → entry.
    public func committed(group: String) -> [String: [Int: Entry]] {
        groups.withLock { $0[group] ?? [:] }
    }

    /// Durably records that `group` has consumed `topic`/`partition` up to (excluding) `offset`.
    public func commit(group: String, topic: String, partition: Int, offset: Int64) async throws(LogError) {
        try await commit(group: group, [Commit(topic: topic, partition: partition, entry: Entry(offset: offset))])
    }

    /// Durably records every position in `commits` for `group`, in one write. The file is written
    /// and fsynced on a thread of its own, off the cooperative pool.
    public func commit(group: String, _ commits: [Commit]) async throws(LogError) {
        if readOnly { throw LogError.readOnly(directory) }
        guard Self.isValidGroupName(group) else {
            throw LogError.invalidTopic(group, reason: "a group name must be 1–249 characters, without '/', not starting with '.'")
        }
        try await rewrite(group) { offsets in
            for commit in commits { offsets[commit.topic, default: [:]][commit.partition] = commit.entry }
        }
    }

    /// Applies `change` to `group`'s offsets and writes the result durably (the file removed when
    /// nothing is left), on a thread of its own and serialized with every other write, so the
    /// newest offsets of a group are the last ones written.
    private func rewrite(_ group: String, _ change: @escaping @Sendable (inout [String: [Int: Entry]]) -> Void) async throws(LogError) {
        try await BlockingIO.run { () throws(LogError) in
            try self.writes.withLock { _ throws(LogError) in
                let document = self.groups.withLock { groups in
                    var offsets = groups[group] ?? [:]
                    change(&offsets)
                    groups[group] = offsets.isEmpty ? nil : offsets
                    return offsets.mapValues { partitions in Dictionary(uniqueKeysWithValues: partitions.map { (String($0.key), $0.value) }) }
                }
                let path = "\(self.directory)/\(group).json"
                guard !document.isEmpty else {
                    guard self.fileSystem.fileExists(path) else { return }
                    try self.fileSystem.unlink(path)
                    try self.fileSystem.syncDirectory(self.directory)
                    return
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                guard let data = try? encoder.encode(document) else { return }
                try self.fileSystem.replaceDurably(path, with: [UInt8](data))
            }
        }
    }

    /// Every group that has committed offsets.
    public var groupNames: [String] { groups.withLock { Array($0.keys) } }

    /// Durably forgets what `group` committed for `partitions` (topic, partition), or everything
    /// when that is nil; a group left with nothing has its file removed.
    public func delete(group: String, partitions: [(topic: String, partition: Int)]? = nil) async throws(LogError) {
        if readOnly { throw LogError.readOnly(directory) }
        guard Self.isValidGroupName(group) else { return }
        try await rewrite(group) { offsets in
            for (topic, partition) in partitions ?? offsets.flatMap({ topic, entries in entries.keys.map { (topic, $0) } }) {
                offsets[topic]?[partition] = nil
                if offsets[topic]?.isEmpty == true { offsets[topic] = nil }
            }
        }
    }

    /// Group names become file names: no path separators, no hidden files, bounded length.
    public static func isValidGroupName(_ group: String) -> Bool {
        !group.isEmpty && group.utf8.count <= 249 && !group.contains("/") && !group.hasPrefix(".") && !group.contains("\0")
    }
}

/// Where a consumer group stands in one partition.
public struct GroupPosition: Sendable, Equatable {
    public var topic: String
    public var partition: Int
    /// The next offset the group will read.
    public var committed: Int64
    /// The partition's end (its next offset).
    public var end: Int64
    /// Records the group has not consumed yet (never negative; 0 for a deleted topic).
    public var lag: Int64 { max(0, end - committed) }
}

extension Log {
    /// `group`'s committed position and lag in every partition it committed to (partitions of
    /// topics that no longer exist are left out), sorted by topic and partition.
    public func positions(of group: String) -> [GroupPosition] {
        let committed = consumerOffsets.committed(group: group)
        return committed.keys.sorted().flatMap { name -> [GroupPosition] in
            guard let topic = topicIfExists(name) else { return [] }
            return (committed[name] ?? [:]).keys.sorted().compactMap { partition in
                guard partition >= 0, partition < topic.partitions.count, let entry = committed[name]?[partition] else { return nil }
                return GroupPosition(topic: name, partition: partition, committed: entry.offset, end: topic.partitions[partition].durableOffset)
            }
        }
    }
}
