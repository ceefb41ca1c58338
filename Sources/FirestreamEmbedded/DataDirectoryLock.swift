import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a data directory (`<data>/LOCK`, flock), so two processes never write
/// the same log. Released when the process exits, however it exits.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32
    public let path: String

    /// Why the lock could not be taken.
    public struct Busy: Error, CustomStringConvertible {
        public var directory: String
        public var holder: String?
        public var description: String {
            "another firestream process\(holder.map { " (pid \($0))" } ?? "") is using \(directory); stop it first, or pass a different --data-dir"
        }
    }

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = "\(directory)/LOCK"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw Busy(directory: directory, holder: holder?.isEmpty == false ? holder : nil)
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    /// Whether some process holds the lock on `directory` right now.
    public static func isHeld(directory: String) -> Bool {
        let fd = open("\(directory)/LOCK", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
