#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An open file with positional reads and writes, opened for the storage engine. Owned by one
/// segment or index; closed when that owner is dropped.
final class LogFile: @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    init(path: String, create: Bool = true, readOnly: Bool = false) throws(LogError) {
        self.path = path
        let flags = readOnly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw LogError.io(path: path, operation: "open", errno: errno) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    var size: Int64 {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// Writes all of `bytes` at `position`, retrying short writes.
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

    /// Writes all of `bytes` at `position`.
    func write(_ bytes: [UInt8], at position: Int64) throws(LogError) {
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

    /// Reads up to `count` bytes at `position` (fewer at end of file).
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

    /// Flushes file data to stable storage.
    func sync() throws(LogError) {
        #if canImport(Glibc)
            let result = fdatasync(descriptor)
        #else
            let result = fsync(descriptor)
        #endif
        guard result == 0 else { throw LogError.io(path: path, operation: "fsync", errno: errno) }
    }

    /// Flushes a directory entry (new or renamed files) to stable storage.
    static func syncDirectory(_ path: String) throws(LogError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError.io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LogError.io(path: path, operation: "fsync", errno: errno) }
    }
}
