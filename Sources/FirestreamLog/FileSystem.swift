#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file operations the log is built on. The log reaches the disk only through this seam:
/// real POSIX files in production (``PosixFileSystem``), and in tests a disk that can lose
/// everything not yet synced, as a power cut does, or fail a chosen write or fsync.
public protocol FileSystem: Sendable {
    /// Opens `path`: read-write, created when missing (unless `create` is false), or read-only.
    func open(_ path: String, create: Bool, readOnly: Bool) throws(LogError) -> any StorageFile
    /// The whole content of a small file (metadata, snapshots); nil when it does not exist.
    func readFile(_ path: String) -> [UInt8]?
    func fileExists(_ path: String) -> Bool
    /// Names in a directory (not `.` and `..`); empty when it does not exist.
    func contentsOfDirectory(_ path: String) -> [String]
    /// Creates a directory and any missing parents.
    func createDirectory(_ path: String) throws(LogError)
    func rename(_ from: String, to: String) throws(LogError)
    func unlink(_ path: String) throws(LogError)
    /// Removes a directory tree (a deleted topic's files).
    func removeTree(_ path: String)
    /// Makes a directory's entries (created, renamed, removed files) durable.
    func syncDirectory(_ path: String) throws(LogError)
}

/// One open file with positional reads and writes. Owned by one segment, index or writer.
public protocol StorageFile: AnyObject, Sendable {
    var path: String { get }
    var size: Int64 { get }
    /// Writes all of `bytes` at `position`.
    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(LogError)
    /// Up to `count` bytes at `position` (fewer at the end of the file).
    func read(at position: Int64, count: Int) throws(LogError) -> [UInt8]
    func truncate(to size: Int64) throws(LogError)
    /// Flushes the file's data (and size) to stable storage.
    func sync() throws(LogError)
}

extension StorageFile {
    /// Writes all of `bytes` at `position`.
    public func write(_ bytes: [UInt8], at position: Int64) throws(LogError) {
        let failure = bytes.withUnsafeBytes { raw -> LogError? in
            do throws(LogError) {
                try write(raw, at: position)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }
}

extension FileSystem {
    /// Replaces a small file atomically and durably: temp file, fsync, rename, fsync the directory.
    func replaceDurably(_ path: String, with bytes: [UInt8]) throws(LogError) {
        let temporary = "\(path).tmp"
        let file = try open(temporary, create: true, readOnly: false)
        try file.truncate(to: 0)
        try file.write(bytes, at: 0)
        try file.sync()
        try rename(temporary, to: path)
        try syncDirectory(parent(of: path))
    }
}

/// The directory part of `path`.
func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// Real files, with `pwrite`/`pread`/`fdatasync`.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, create: Bool, readOnly: Bool) throws(LogError) -> any StorageFile {
        try PosixFile(path: path, create: create, readOnly: readOnly)
    }

    public func readFile(_ path: String) -> [UInt8]? {
        guard let file = try? PosixFile(path: path, create: false, readOnly: true) else { return nil }
        return try? file.read(at: 0, count: Int(file.size))
    }

    public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func contentsOfDirectory(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws(LogError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw LogError.io(path: prefix, operation: "create directory", errno: errno)
            }
        }
    }

    public func rename(_ from: String, to: String) throws(LogError) {
        guard posixRename(from, to) == 0 else { throw LogError.io(path: from, operation: "rename", errno: errno) }
    }

    public func unlink(_ path: String) throws(LogError) {
        guard posixUnlink(path) == 0 || errno == ENOENT else { throw LogError.io(path: path, operation: "unlink", errno: errno) }
    }

    public func removeTree(_ path: String) {
        for name in contentsOfDirectory(path) {
            let child = "\(path)/\(name)"
            var info = stat()
            if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                removeTree(child)
            } else {
                _ = posixUnlink(child)
            }
        }
        _ = rmdir(path)
    }

    public func syncDirectory(_ path: String) throws(LogError) {
        let fd = posixOpen(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError.io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LogError.io(path: path, operation: "fsync", errno: errno) }
    }
}

/// An open POSIX file. The descriptor is owned here and closed when the file is dropped; reads
/// and writes are positional, so concurrent use from several threads is safe.
final class PosixFile: StorageFile, @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    init(path: String, create: Bool, readOnly: Bool) throws(LogError) {
        self.path = path
        let flags = readOnly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = posixOpen(path, flags)
        guard fd >= 0 else { throw LogError.io(path: path, operation: "open", errno: errno) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    var size: Int64 {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
    }

    func write(_ bytes: UnsafeRawBufferPointer, at position: Int64) throws(LogError) {
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                throw LogError.io(path: path, operation: "write", errno: errno)
            }
            done += written
        }
    }

    func read(at position: Int64, count: Int) throws(LogError) -> [UInt8] {
        guard count > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let got = pread(descriptor, raw.baseAddress! + done, count - done, off_t(position) + off_t(done))
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if got == 0 { break }
                done += got
            }
        }
        if failure != 0 { throw LogError.io(path: path, operation: "read", errno: failure) }
        if done < count { buffer.removeSubrange(done...) }
        return buffer
    }

    func truncate(to size: Int64) throws(LogError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw LogError.io(path: path, operation: "truncate", errno: errno) }
    }

    func sync() throws(LogError) {
        #if canImport(Glibc)
            let result = fdatasync(descriptor)
        #else
            let result = fsync(descriptor)
        #endif
        guard result == 0 else { throw LogError.io(path: path, operation: "fsync", errno: errno) }
    }
}

// The C functions, under names the types above do not shadow.
private func posixOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags, 0o644) }
private func posixRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }
private func posixUnlink(_ path: String) -> Int32 { unlink(path) }
