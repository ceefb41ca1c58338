import Foundation
import Synchronization

/// Committed consumer-group offsets, one durable JSON file per group
/// (`groups/<group>.json`: topic → partition → next offset to read).
public final class ConsumerOffsets: Sendable {
    private let directory: String
    private let groups: Mutex<[String: [String: [Int: Int64]]]>
    private let readOnly: Bool

    init(directory: String, readOnly: Bool = false) throws(LogError) {
        self.directory = directory
        self.readOnly = readOnly
        if !readOnly {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw LogError.io(path: directory, operation: "create directory", errno: EACCES)
            }
        }
        var loaded: [String: [String: [Int: Int64]]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)"),
                let offsets = try? JSONDecoder().decode([String: [String: Int64]].self, from: data)
            else { continue }
            loaded[String(name.dropLast(5))] = offsets.mapValues { partitions in
                Dictionary(uniqueKeysWithValues: partitions.compactMap { key, value in Int(key).map { ($0, value) } })
            }
        }
        groups = Mutex(loaded)
    }

    /// The next offset `group` should read from `topic`/`partition`, if it ever committed one.
    public func committed(group: String, topic: String, partition: Int) -> Int64? {
        groups.withLock { $0[group]?[topic]?[partition] }
    }

    /// Durably records that `group` has consumed `topic`/`partition` up to (excluding) `offset`.
    public func commit(group: String, topic: String, partition: Int, offset: Int64) throws(LogError) {
        if readOnly { throw LogError.readOnly(directory) }
        guard !group.isEmpty, !group.contains("/"), !group.hasPrefix(".") else {
            throw LogError.invalidTopic(group, reason: "a group name must not be empty, contain '/' or start with '.'")
        }
        try groups.withLock { groups throws(LogError) in
            groups[group, default: [:]][topic, default: [:]][partition] = offset
            let document = groups[group]!.mapValues { partitions in
                Dictionary(uniqueKeysWithValues: partitions.map { (String($0.key), $0.value) })
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let data = try? encoder.encode(document) else { return }
            try DurableFile.replace("\(directory)/\(group).json", with: data)
        }
    }
}
