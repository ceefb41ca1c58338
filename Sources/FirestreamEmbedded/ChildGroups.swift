import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Child programs that run beside `up` in process groups of their own (Airflow and the
/// processes it starts), so one signal reaches all of a child's processes and none outlives `up`.
enum ChildGroups {
    private static let running = Mutex<Set<pid_t>>([])

    /// Starts `executable` with `arguments` in a new process group, its output appended to the
    /// file at `output`; returns its pid (also the group's id).
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], output: String) throws -> pid_t {
        let descriptor = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + variables { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, variables)
        guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO) }
        running.withLock { _ = $0.insert(pid) }
        return pid
    }

    /// Waits, on a thread of its own (never the shared pool's few), until the child ends; how it
    /// ended, in words.
    static func exit(of pid: pid_t) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: wait(pid)) }
        }
    }

    /// Blocks until the child ends; how it ended, in words.
    private static func wait(_ pid: pid_t) -> String {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        running.withLock { _ = $0.remove(pid) }
        return status & 0x7f == 0 ? "exit status \((status >> 8) & 0xff)" : "killed by signal \(status & 0x7f)"
    }

    /// SIGTERM to the child's group now, SIGKILL to what is left of it after `grace`.
    static func stop(_ pid: pid_t, grace: Duration) {
        guard running.withLock({ $0.contains(pid) }) else { return }
        kill(-pid, SIGTERM)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Double(grace.components.seconds))
            // The group outlives its leader when a component ignored the signal.
            kill(-pid, SIGKILL)
        }
    }

    /// Kills every group at once: `up` is exiting without a graceful shutdown.
    static func killAll() {
        for pid in running.withLock({ $0 }) { kill(-pid, SIGKILL) }
    }
}
