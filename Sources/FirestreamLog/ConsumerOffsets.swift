import Foundation

/// Committed consumer-group offsets, one durable JSON file per group
/// (`groups/<group>.json`: topic → partition → next offset to read).
public final class ConsumerOffsets: Sendable {
    private let directory: String
    private let fileSystem: any FileSystem
    private let groups: Locked<[String: [String: [Int: Int64]]]>
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
        var loaded: [String: [String: [Int: Int64]]] = [:]
        for name in fileSystem.contentsOfDirectory(directory) where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            guard let data = fileSystem.readFile(path) else { continue }
            // Forgetting a group's offsets would resend (or skip) everything it consumed: refuse.
            let offsets: [String: [String: Int64]]
            do {
                offsets = try JSONDecoder().decode([String: [String: Int64]].self, from: Data(data))
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
        groups.withLock { $0[group]?[topic]?[partition] }
    }

    /// Durably records that `group` has consumed `topic`/`partition` up to (excluding) `offset`.
    /// The file is written and fsynced on a thread of its own, off the cooperative pool.
    public func commit(group: String, topic: String, partition: Int, offset: Int64) async throws(LogError) {
        if readOnly { throw LogError.readOnly(directory) }
        guard !group.isEmpty, !group.contains("/"), !group.hasPrefix(".") else {
            throw LogError.invalidTopic(group, reason: "a group name must not be empty, contain '/' or start with '.'")
        }
        try await BlockingIO.run { () throws(LogError) in
            try self.writes.withLock { _ throws(LogError) in
                let document = self.groups.withLock { groups in
                    groups[group, default: [:]][topic, default: [:]][partition] = offset
                    return (groups[group] ?? [:]).mapValues { partitions in
                        Dictionary(uniqueKeysWithValues: partitions.map { (String($0.key), $0.value) })
                    }
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                guard let data = try? encoder.encode(document) else { return }
                try self.fileSystem.replaceDurably("\(self.directory)/\(group).json", with: [UInt8](data))
            }
        }
    }
}
