public import FirestreamStreams
public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How to start a Python app's worker: `<python> -m firestream.worker <module>` in `directory`.
public struct PythonCommand: Sendable, Equatable {
    /// The interpreter, a name on PATH or a path.
    public var python: String
    /// `path/to/file.py:Class`, relative to `directory`.
    public var module: String
    /// The project directory (where the config is).
    public var directory: URL

    public init(python: String, module: String, directory: URL) {
        self.python = python
        self.module = module
        self.directory = directory
    }
}

/// A Python worker that died, could not start, or broke the protocol. The app is started
/// again after a pause (``RestartableFailure``); nothing of the step was committed.
public struct PythonWorkerFailed: RestartableFailure {
    public var description: String
}

/// One `python -m firestream.worker` process: requests go in on its standard input, answers
/// come back on its standard output; its standard error is Firestream's.
final class PythonWorker {
    let process = Process()
    let input: FileHandle
    let output: FileHandle

    /// Starts the worker and reads its hello (its protocol version).
    init(_ command: PythonCommand) throws {
        // A write to a worker that died must fail, not kill Firestream.
        signal(SIGPIPE, SIG_IGN)
        let stdin = Pipe()
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command.python, "-u", "-m", "firestream.worker", command.module]
        process.currentDirectoryURL = command.directory
        process.standardInput = stdin
        process.standardOutput = stdout
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
        do {
            try process.run()
        } catch {
            throw PythonWorkerFailed(description: "cannot start \(command.python): \(error)")
        }
        let (kind, hello) = try read()
        guard kind == PythonProtocol.Kind.hello.rawValue else {
            stop()
            throw PythonWorkerFailed(description: String(decoding: hello, as: UTF8.self))
        }
        let text = String(decoding: hello, as: UTF8.self)
        guard (try? JSONDecoder().decode(PythonProtocol.Hello.self, from: Data(hello)))?.protocol == PythonProtocol.version else {
            stop()
            throw PythonWorkerFailed(
                description:
                    "the Python package firestream speaks another protocol (\(text)); install the one of this Firestream: pip install <firestream>/python"
            )
        }
    }

    /// Sends a request and returns the answer's payload.
    func exchange(_ kind: PythonProtocol.Kind, _ payload: [UInt8], expect: PythonProtocol.Kind) throws -> [UInt8] {
        do {
            try input.write(contentsOf: PythonProtocol.frame(kind, payload))
        } catch {
            throw PythonWorkerFailed(description: "the Python worker stopped reading (\(error))")
        }
        let (answer, body) = try read()
        guard answer == expect.rawValue else {
            if answer == PythonProtocol.Kind.failed.rawValue { throw PythonWorkerFailed(description: String(decoding: body, as: UTF8.self)) }
            throw PythonWorkerFailed(description: "the Python worker answered frame type \(answer) to \(kind)")
        }
        return body
    }

    private func read() throws -> (UInt8, [UInt8]) {
        let (kind, length) = try PythonProtocol.header(readExactly(5))
        return (kind, try readExactly(length))
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            guard let chunk = try? output.read(upToCount: count - bytes.count), !chunk.isEmpty else {
                let status = process.isRunning ? "" : " (exit status \(process.terminationStatus))"
                throw PythonWorkerFailed(description: "the Python worker ended\(status)")
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// Closes its input (it ends by itself) and makes sure it is gone.
    func stop() {
        try? input.close()
        if process.isRunning {
            let deadline = ContinuousClock.now + .seconds(2)
            while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? output.close()
    }
}

/// The worker processes of one app: partition `p` uses worker `p % count`, each started on
/// first use and started again when it dies (one retry of the request at once; then the app is
/// restarted after a pause).
public final class PythonWorkers: Sendable {
    public let command: PythonCommand
    private let slots: [Slot]
    private let restartCount = Atomic<Int>(0)
    private let busy = Atomic<Int>(0)

    public init(_ command: PythonCommand, count: Int) {
        self.command = command
        slots = (0..<max(1, count)).map { _ in Slot() }
    }

    /// How often a worker was started again after it died.
    public var restarts: Int { restartCount.load(ordering: .relaxed) }
    /// Nanoseconds spent in exchanges with the workers (Python computing, and the pipes).
    public var exchangeNanoseconds: Int { busy.load(ordering: .relaxed) }

    /// Runs `body` with partition `partition`'s worker, started if needed. When the worker dies or
    /// breaks the protocol, it is replaced and `body` runs again from the start (its exchanges
    /// belong together: a step's records, then its results); a second failure is thrown.
    func withWorker<T: Sendable>(partition: Int, _ body: (PythonWorker) throws -> T) throws -> T {
        try slots[partition % slots.count].worker.withLock { (slot: inout PythonWorker?) throws(any Error) -> T in
            var attempt = 0
            while true {
                do {
                    let worker = try slot ?? PythonWorker(command)
                    slot = worker
                    let started = ContinuousClock.now
                    defer {
                        let (seconds, attoseconds) = (ContinuousClock.now - started).components
                        busy.add(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000), ordering: .relaxed)
                    }
                    return try body(worker)
                } catch let failure where failure is PythonWorkerFailed || failure is PythonProtocol.Malformed {
                    slot?.stop()
                    slot = nil
                    attempt += 1
                    restartCount.add(1, ordering: .relaxed)
                    if attempt >= 2 {
                        throw failure as? PythonWorkerFailed ?? PythonWorkerFailed(description: "the Python worker broke the protocol: \(failure)")
                    }
                }
            }
        }
    }

    /// Stops every worker (the app is stopping).
    public func stop() {
        for slot in slots {
            slot.worker.withLock { (worker: inout PythonWorker?) in
                worker?.stop()
                worker = nil
            }
        }
    }
}

/// One worker's place, locked while a request is in flight.
private final class Slot: Sendable {
    let worker = Mutex<PythonWorker?>(nil)
}
