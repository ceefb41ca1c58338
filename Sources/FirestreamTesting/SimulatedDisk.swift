public import FirestreamLog

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A disk in memory that behaves like a real one where durability is concerned: written bytes
/// sit in a "page cache" until the file is synced, and created, renamed or removed names sit
/// in their directory until the directory is synced. ``powerCut(keeping:seed:)`` throws away
/// what was not synced — all of it, or a random part of it, write by write — and everything
/// the log had open before the cut fails from then on, like a process that died.
///
/// Tests can also make chosen operations fail (``inject(_:)``), as a full or failing disk does.
public final class SimulatedDisk: Sendable {
    /// The file operations, for failure injection.
    public enum Operation: String, Sendable, CaseIterable {
        case open, read, write, sync, truncate, rename, unlink, createDirectory, syncDirectory
    }

    /// A failure to inject: the `skip`+1-th matching operation fails with `errno` (and every
    /// one after it when `persistent`).
    public struct Fault: Sendable {
        public var operation: Operation
        /// Only paths containing this text (nil: any path).
        public var pathContains: String?
        public var errno: Int32
        public var skip: Int
        public var persistent: Bool

        public init(_ operation: Operation, pathContains: String? = nil, errno: Int32, skip: Int = 0, persistent: Bool = false) {
            self.operation = operation
            self.pathContains = pathContains
            self.errno = errno
            self.skip = skip
            self.persistent = persistent
        }
    }

    /// What survives a power cut of the bytes and names that were not synced.
    public enum Survivors: Sendable {
        /// Nothing: every file and directory is exactly as last synced.
        case none
        /// Each unsynced write survives whole, in part (a prefix), or not at all, at random;
        /// so does each unsynced truncation. Names not synced in their directory are lost.
        case randomParts
    }

    final class Inode: @unchecked Sendable {
        // Guarded by the disk's mutex.
        var data: [UInt8] = []
        var durable: [UInt8] = []
        var pending: [Change] = []
    }

    enum Change {
        case write(position: Int, bytes: [UInt8])
        case truncate(Int)
    }

    enum Entry {
        case file(Inode)
        case directory
    }

    struct Directory {
        var entries: [String: Entry] = [:]
        var durableEntries: [String: Entry] = [:]
    }

    struct State {
        var directories: [String: Directory] = ["/": Directory()]
        var generation = 0
        var faults: [Fault] = []
        var counts: [Operation: Int] = [:]
        /// A power cut armed to happen at a given write or sync: (operations left, survivors, seed).
        var armed: (remaining: Int, survivors: Survivors, seed: UInt64)?
    }

    let state = Locked(State())
    /// How long each fsync takes (like a real disk's), so that appends pile up between syncs.
    let syncLatencyMicroseconds: UInt32

    public init(syncLatencyMicroseconds: UInt32 = 0) {
        self.syncLatencyMicroseconds = syncLatencyMicroseconds
    }

    /// A view of the disk for one "boot": every operation through it fails once the power is cut.
    public func mount() -> any FileSystem {
        SimulatedMount(disk: self, generation: state.withLock { $0.generation })
    }

    /// Makes matching operations fail from now on.
    public func inject(_ fault: Fault) {
        state.withLock { $0.faults.append(fault) }
    }

    public func clearFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    /// How many times each operation ran (for tests that check what was synced).
    public func count(_ operation: Operation) -> Int {
        state.withLock { $0.counts[operation] ?? 0 }
    }

    /// Cuts the power: what was not synced is lost (or partly kept, per `survivors`), and every
    /// mount and open file from before fails from now on.
    public func powerCut(keeping survivors: Survivors = .none, seed: UInt64 = 1) {
        state.withLock { Self.cut(&$0, keeping: survivors, seed: seed) }
    }

    /// Arms a power cut that happens during the `operations`-th write or sync from now: that
    /// operation and everything after it fails. Cuts land anywhere in the stream of writes,
    /// without depending on when the test's tasks get to run.
    public func armPowerCut(afterOperations operations: Int, keeping survivors: Survivors = .none, seed: UInt64 = 1) {
        state.withLock { $0.armed = (max(1, operations), survivors, seed) }
    }

    /// How many power cuts have happened.
    public var cuts: Int { state.withLock { $0.generation } }

    static func cut(_ state: inout State, keeping survivors: Survivors, seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func next(_ bound: Int) -> Int { random.next(below: bound) }
        do {
            state.armed = nil
            state.generation += 1
            var inodes: [ObjectIdentifier: Inode] = [:]
            for (path, directory) in state.directories {
                var kept = directory
                kept.entries = directory.durableEntries
                state.directories[path] = kept
                for case .file(let inode) in directory.durableEntries.values { inodes[ObjectIdentifier(inode)] = inode }
                for case .file(let inode) in directory.entries.values { inodes[ObjectIdentifier(inode)] = inode }
            }
            // Directories whose own name was never synced into their parent are gone.
            var changed = true
            while changed {
                changed = false
                for path in state.directories.keys where path != "/" {
                    let (parentPath, name) = Self.split(path)
                    guard case .directory? = state.directories[parentPath]?.entries[name] else {
                        state.directories[path] = nil
                        changed = true
                        continue
                    }
                }
            }
            for inode in inodes.values {
                var image = inode.durable
                if case .randomParts = survivors {
                    for change in inode.pending where next(2) == 0 {
                        switch change {
                        case .write(let position, let bytes):
                            let kept = next(4) == 0 ? next(bytes.count + 1) : bytes.count
                            if image.count < position + kept { image += [UInt8](repeating: 0, count: position + kept - image.count) }
                            image.replaceSubrange(position..<(position + kept), with: bytes[0..<kept])
                        case .truncate(let size):
                            if size < image.count { image.removeSubrange(size...) } else { image += [UInt8](repeating: 0, count: size - image.count) }
                        }
                    }
                }
                inode.data = image
                inode.durable = image
                inode.pending = []
            }
        }
    }

    // MARK: Operations (called by mounts and files)

    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        return (parent, String(path[path.index(after: slash)...]))
    }

    /// Checks the generation and the injected faults for one operation.
    func check(_ operation: Operation, _ path: String, generation: Int, in state: inout State) -> Int32? {
        guard generation == state.generation else { return EIO }
        state.counts[operation, default: 0] += 1
        if operation == .write || operation == .sync || operation == .syncDirectory || operation == .rename, let armed = state.armed {
            if armed.remaining <= 1 {
                Self.cut(&state, keeping: armed.survivors, seed: armed.seed)
                return EIO
            }
            state.armed?.remaining -= 1
        }
        for index in state.faults.indices where state.faults[index].operation == operation {
            let fault = state.faults[index]
            guard fault.pathContains.map({ path.contains($0) }) ?? true else { continue }
            if fault.skip > 0 {
                state.faults[index].skip -= 1
                continue
            }
            if !fault.persistent { state.faults.remove(at: index) }
            return fault.errno
        }
        return nil
    }
}

/// The disk as one boot sees it.
final class SimulatedMount: FileSystem, Sendable {
    let disk: SimulatedDisk
    let generation: Int

    init(disk: SimulatedDisk, generation: Int) {
        self.disk = disk
        self.generation = generation
    }

    private func run<T>(_ operation: SimulatedDisk.Operation, _ path: String, _ body: (inout SimulatedDisk.State) -> Result<T, LogError>)
        throws(LogError)
        -> T
    {
        let result: Result<T, LogError> = disk.state.withLock { state in
            if let code = disk.check(operation, path, generation: generation, in: &state) {
                let name = operation == .sync || operation == .syncDirectory ? "fsync" : operation.rawValue
                return .failure(.io(path: path, operation: name, errno: code))
            }
            return body(&state)
        }
        return try result.get()
    }

    func open(_ path: String, create: Bool, readOnly: Bool) throws(LogError) -> any StorageFile {
        let inode: SimulatedDisk.Inode = try run(.open, path) { state in
            let (parentPath, name) = SimulatedDisk.split(path)
            guard var directory = state.directories[parentPath] else { return .failure(.io(path: path, operation: "open", errno: ENOENT)) }
            switch directory.entries[name] {
            case .file(let inode)?: return .success(inode)
            case .directory?: return .failure(.io(path: path, operation: "open", errno: EISDIR))
            case nil:
                guard create && !readOnly else { return .failure(.io(path: path, operation: "open", errno: ENOENT)) }
                let inode = SimulatedDisk.Inode()
                directory.entries[name] = .file(inode)
                state.directories[parentPath] = directory
                return .success(inode)
            }
        }
        return SimulatedFile(path: path, inode: inode, mount: self, readOnly: readOnly)
    }

    func readFile(_ path: String) -> [UInt8]? {
        guard let file = try? open(path, create: false, readOnly: true) else { return nil }
        return try? file.read(at: 0, count: Int(file.size))
    }

    func fileExists(_ path: String) -> Bool {
        disk.state.withLock { state in
            guard generation == state.generation else { return false }
            if state.directories[path] != nil { return true }
            let (parentPath, name) = SimulatedDisk.split(path)
            return state.directories[parentPath]?.entries[name] != nil
        }
    }

    func contentsOfDirectory(_ path: String) -> [String] {
        disk.state.withLock { state in
            guard generation == state.generation else { return [] }
            return state.directories[path].map { Array($0.entries.keys) } ?? []
        }
    }

    func createDirectory(_ path: String) throws(LogError) {
        try run(.createDirectory, path) { state -> Result<Void, LogError> in
            var current = ""
            for component in path.split(separator: "/") {
                let parentPath = current.isEmpty ? "/" : current
                current += "/" + component
                if state.directories[current] != nil { continue }
                guard var parent = state.directories[parentPath] else { return .failure(.io(path: current, operation: "mkdir", errno: ENOENT)) }
                if case .file? = parent.entries[String(component)] { return .failure(.io(path: current, operation: "mkdir", errno: EEXIST)) }
                parent.entries[String(component)] = .directory
                state.directories[parentPath] = parent
                state.directories[current] = SimulatedDisk.Directory()
            }
            return .success(())
        }
    }

    func rename(_ from: String, to: String) throws(LogError) {
        try run(.rename, from) { state -> Result<Void, LogError> in
            let (fromParent, fromName) = SimulatedDisk.split(from)
            let (toParent, toName) = SimulatedDisk.split(to)
            guard let entry = state.directories[fromParent]?.entries[fromName], state.directories[toParent] != nil else {
                return .failure(.io(path: from, operation: "rename", errno: ENOENT))
            }
            state.directories[fromParent]?.entries[fromName] = nil
            state.directories[toParent]?.entries[toName] = entry
            if case .directory = entry {
                // Move the subtree's contents to the new path.
                for (path, directory) in state.directories where path == from || path.hasPrefix(from + "/") {
                    state.directories[path] = nil
                    state.directories[to + path.dropFirst(from.count)] = directory
                }
            }
            return .success(())
        }
    }

    func unlink(_ path: String) throws(LogError) {
        try run(.unlink, path) { state -> Result<Void, LogError> in
            let (parentPath, name) = SimulatedDisk.split(path)
            if case .file? = state.directories[parentPath]?.entries[name] { state.directories[parentPath]?.entries[name] = nil }
            return .success(())
        }
    }

    func removeTree(_ path: String) {
        _ = try? run(.unlink, path) { state -> Result<Void, LogError> in
            let (parentPath, name) = SimulatedDisk.split(path)
            state.directories[parentPath]?.entries[name] = nil
            for key in state.directories.keys where key == path || key.hasPrefix(path + "/") { state.directories[key] = nil }
            return .success(())
        }
    }

    func syncDirectory(_ path: String) throws(LogError) {
        try run(.syncDirectory, path) { state -> Result<Void, LogError> in
            guard var directory = state.directories[path] else { return .failure(.io(path: path, operation: "open", errno: ENOENT)) }
            directory.durableEntries = directory.entries
            state.directories[path] = directory
            return .success(())
        }
    }

    /// Runs a file operation under the disk's lock.
    func file<T>(_ operation: SimulatedDisk.Operation, _ path: String, _ body: (inout SimulatedDisk.State) -> Result<T, LogError>) throws(LogError)
        -> T
    {
        try run(operation, path, body)
    }
}

/// An open file on the simulated disk.
final class SimulatedFile: StorageFile, Sendable {
    let path: String
    let inode: SimulatedDisk.Inode
    let mount: SimulatedMount
    let readOnly: Bool

    init(path: String, inode: SimulatedDisk.Inode, mount: SimulatedMount, readOnly: Bool) {
        self.path = path
        self.inode = inode
        self.mount = mount
        self.readOnly = readOnly
    }

    var size: Int64 { self.mount.disk.state.withLock { _ in Int64(inode.data.count) } }

    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(LogError) {
        let copy = [UInt8](bytes)
        try self.mount.file(.write, path) { _ -> Result<Void, LogError> in
            if readOnly { return .failure(.io(path: path, operation: "write", errno: EBADF)) }
            let start = Int(position)
            if inode.data.count < start + copy.count { inode.data += [UInt8](repeating: 0, count: start + copy.count - inode.data.count) }
            inode.data.replaceSubrange(start..<(start + copy.count), with: copy)
            inode.pending.append(.write(position: start, bytes: copy))
            return .success(())
        }
    }

    func read(at position: Int64, count: Int) throws(LogError) -> [UInt8] {
        try self.mount.file(.read, path) { _ -> Result<[UInt8], LogError> in
            let start = min(Int(position), inode.data.count)
            let end = min(start + max(count, 0), inode.data.count)
            return .success(Array(inode.data[start..<end]))
        }
    }

    func truncate(to size: Int64) throws(LogError) {
        try self.mount.file(.truncate, path) { _ -> Result<Void, LogError> in
            let size = Int(size)
            if size < inode.data.count {
                inode.data.removeSubrange(size...)
            } else {
                inode.data += [UInt8](repeating: 0, count: size - inode.data.count)
            }
            inode.pending.append(.truncate(size))
            return .success(())
        }
    }

    func sync() throws(LogError) {
        if mount.disk.syncLatencyMicroseconds > 0 { usleep(mount.disk.syncLatencyMicroseconds) }
        try self.mount.file(.sync, path) { _ -> Result<Void, LogError> in
            inode.durable = inode.data
            inode.pending.removeAll()
            return .success(())
        }
    }
}
