/// Small named documents, one file each in a directory, each replaced atomically and durably
/// (temp file, fsync, rename, fsync the directory). The Kafka broker keeps its consumer groups'
/// membership here. Names must be safe file names (the caller checks them).
public final class DurableDocuments: Sendable {
    public let directory: String
    private let fileSystem: any FileSystem
    private let readOnly: Bool
    /// Serializes writes, so the newest content of a document is the last one written.
    private let writes = Locked<Void>(())

    init(directory: String, fileSystem: any FileSystem, readOnly: Bool) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.readOnly = readOnly
    }

    /// Every document: name → bytes.
    public func all() -> [String: [UInt8]] {
        var documents: [String: [UInt8]] = [:]
        for name in fileSystem.contentsOfDirectory(directory) where name.hasSuffix(".json") {
            if let bytes = fileSystem.readFile("\(directory)/\(name)") { documents[String(name.dropLast(5))] = bytes }
        }
        return documents
    }

    /// Durably replaces document `name` with what `content` returns when the write happens (so
    /// concurrent callers always leave the newest content), or removes it when that is nil.
    /// Runs off the cooperative pool.
    public func replace(_ name: String, with content: @escaping @Sendable () -> [UInt8]?) async throws(LogError) {
        if readOnly { throw LogError.readOnly(directory) }
        try await BlockingIO.run { () throws(LogError) in
            try self.writes.withLock { _ throws(LogError) in
                let path = "\(self.directory)/\(name).json"
                guard let bytes = content() else {
                    guard self.fileSystem.fileExists(path) else { return }
                    try self.fileSystem.unlink(path)
                    try self.fileSystem.syncDirectory(self.directory)
                    return
                }
                try self.createDirectoryIfNeeded()
                try self.fileSystem.replaceDurably(path, with: bytes)
            }
        }
    }

    private func createDirectoryIfNeeded() throws(LogError) {
        guard !fileSystem.fileExists(directory) else { return }
        let up = parent(of: directory)
        if !fileSystem.fileExists(up) {
            try fileSystem.createDirectory(up)
            try fileSystem.syncDirectory(parent(of: up))
        }
        try fileSystem.createDirectory(directory)
        try fileSystem.syncDirectory(up)
    }
}
