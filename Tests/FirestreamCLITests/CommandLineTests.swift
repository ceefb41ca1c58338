import FirestreamTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the real `firestream` binary built next to the test bundle.
struct FirestreamProcess {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let binary: URL = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("firestream")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/firestream")
    }()

    /// Runs `executable` (default: firestream) with `arguments` in `directory`, feeding `input`;
    /// `environment` replaces the inherited one when given. The child is waited for on a thread
    /// of its own: a test that blocked the shared pool (two threads on a 2-core machine) would
    /// stall every other test, down to servers that cannot answer their own readiness probes.
    static func run(
        _ arguments: [String], in directory: URL, input: String = "", executable: URL = binary, environment: [String: String]? = nil
    ) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result { try blocking(arguments, in: directory, input: input, executable: executable, environment: environment) })
            }
        }
    }

    /// ``run(_:in:input:executable:environment:)`` on the calling thread.
    ///
    /// Spawned and reaped here with posix_spawn and waitpid: Foundation's `Process` can miss the
    /// exit of a child that ends at once while other threads spawn theirs, and then
    /// `waitUntilExit` spins forever beside a zombie (seen in the suite).
    private static func blocking(
        _ arguments: [String], in directory: URL, input: String, executable: URL, environment: [String: String]?
    ) throws -> Outcome {
        let scratch = TemporaryDirectory("fs-run")
        let paths = ["in", "out", "err"].map { scratch.url.appendingPathComponent($0).path }
        try Data(input.utf8).write(to: URL(fileURLWithPath: paths[0]))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, paths[0], O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, paths[1], O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, paths[2], O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // glibc has it since 2.29, but its header hides it from Swift without _GNU_SOURCE.
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            throw POSIXError(.ENOSYS)
        }
        _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, directory.path)
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + variables { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable.path, &actions, nil, argv, variables)
        guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited: its exit code; killed: the signal's number (as Process.terminationStatus says).
        let exited = status & 0x7f == 0
        return Outcome(
            status: exited ? (status >> 8) & 0xff : status & 0x7f,
            stdout: try String(contentsOfFile: paths[1], encoding: .utf8),
            stderr: try String(contentsOfFile: paths[2], encoding: .utf8))
    }
}

extension Process {
    /// Waits for the process to end, on a thread of its own (`waitUntilExit` blocks its thread,
    /// and the shared pool has only as many as the machine has cores).
    func exited() async {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                self.waitUntilExit()
                continuation.resume()
            }
        }
    }
}

@Suite struct CommandLineTests {
    @Test func initWithYesWritesAConfigThatValidates() async throws {
        let scratch = TemporaryDirectory()
        let created = try await FirestreamProcess.run(
            ["init", "pipeline", "--yes", "--services", "kafka,postgres"], in: scratch.url)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("Created pipeline/firestream.json for project \"pipeline\" (services: kafka, postgresql)"))
        #expect(try scratch.read("pipeline/.gitignore").contains(".firestream/"))
        let validated = try await FirestreamProcess.run(["validate", "pipeline"], in: scratch.url)
        #expect(validated.status == 0)
        #expect(validated.stdout.contains("valid — project \"pipeline\", 2 service(s)"))
    }

    @Test func initRefusesToOverwriteWithoutForce() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"name": "mine"}"#)
        let refused = try await FirestreamProcess.run(["init", "--yes"], in: scratch.url)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("already exists; pass --force to overwrite it"))
        #expect(try scratch.read("firestream.json") == #"{"name": "mine"}"#)
        let forced = try await FirestreamProcess.run(["init", "--yes", "--force", "--name", "fresh"], in: scratch.url)
        #expect(forced.status == 0)
        #expect(try scratch.read("firestream.json").contains("\"name\": \"fresh\""))
    }

    @Test func initRejectsBadFlagsBeforeWriting() async throws {
        let scratch = TemporaryDirectory()
        let badService = try await FirestreamProcess.run(["init", "--yes", "--services", "kafka,mongo"], in: scratch.url)
        #expect(badService.status != 0)
        #expect(badService.stderr.contains("--services: unknown service \"mongo\""))
        let badName = try await FirestreamProcess.run(["init", "--yes", "--name", "Bad_Name"], in: scratch.url)
        #expect(badName.status != 0)
        #expect(badName.stderr.contains("(try \"bad-name\")"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func initWithoutATerminalUsesDefaultsAndSaysSo() async throws {
        let scratch = TemporaryDirectory()
        let outcome = try await FirestreamProcess.run(["init", "--format", "yaml"], in: scratch.url)
        #expect(outcome.status == 0)
        #expect(outcome.stderr.contains("standard input is not a terminal"))
        #expect(try scratch.read("firestream.yaml").contains("service_name: minio"))
    }

    @Test func interactiveInitThroughARealPseudoTerminal() async throws {
        let script = URL(fileURLWithPath: "/usr/bin/script")
        try #require(FileManager.default.isExecutableFile(atPath: script.path), "util-linux `script` is needed for the PTY test")
        let scratch = TemporaryDirectory()
        // name (rejected, then fixed), kafka n, minio Enter, postgresql Enter, airflow y, spark Enter, contour Enter, targets, format
        let answers = "Bad Name\nmy-app\nn\n\n\ny\n\n\nk3d,vm\nyaml\n"
        let command = "\(FirestreamProcess.binary.path) init proj"
        let outcome = try await FirestreamProcess.run(["-qec", command, "/dev/null"], in: scratch.url, input: answers, executable: script)
        #expect(outcome.status == 0, "\(outcome.stdout)")
        #expect(outcome.stdout.contains("Project name [proj]: "))
        #expect(outcome.stdout.contains("\"Bad Name\" is not a valid name"))
        #expect(outcome.stdout.contains("(services: minio, postgresql, airflow)"))
        let validated = try await FirestreamProcess.run(["config", "show", "proj"], in: scratch.url)
        #expect(validated.status == 0)
        #expect(validated.stdout.contains("\"name\": \"my-app\""))
        #expect(validated.stdout.contains("\"targets\": [\"k3d\", \"vm\"]"))
    }

    @Test func validateReportsEveryErrorWithPositionsAndExitsNonZero() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write(
            "firestream.json",
            """
            {
              "replicas": 2,
              "services": [{"service_name": "bigquery"}, {"service_name": "kafka", "resources": {"requests": {"memory": "1GB"}}}],
            }
            """)
        let outcome = try await FirestreamProcess.run(["validate"], in: scratch.url)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("firestream.json:2:3: error: replicas: unknown key \"replicas\""))
        #expect(outcome.stderr.contains("hint: did you mean \"replicaCount\"?"))
        #expect(outcome.stderr.contains("firestream.json:3:33: error: services[0].service_name: \"bigquery\" is a proprietary"))
        #expect(outcome.stderr.contains("firestream.json:3:109: error: services[1].resources.requests.memory: \"1GB\""))
        #expect(outcome.stderr.contains("firestream.json:3:118: error: trailing comma before '}'"))
        #expect(outcome.stderr.contains("firestream.json: 4 errors"))
    }

    @Test func validateJSONIsMachineReadable() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.yaml", "name: ok\nservice:\n  ports: [70000]\n")
        let outcome = try await FirestreamProcess.run(["validate", "--format", "json"], in: scratch.url)
        #expect(outcome.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(document["valid"] as? Bool == false)
        #expect(document["errors"] as? Int == 1)
        let first = try #require((document["diagnostics"] as? [[String: Any]])?.first)
        #expect(first["path"] as? String == "service.ports[0]")
        #expect(first["line"] as? Int == 3)
        #expect(first["column"] as? Int == 11)
        #expect(first["message"] as? String == "port 70000 is out of range (1–65535)")
        #expect(first["file"] as? String == "firestream.yaml")
    }

    @Test func configShowFillsDefaultsAndItsOutputValidates() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"name": "shown", "services": [{"service_name": "postgres"}]}"#)
        let shown = try await FirestreamProcess.run(["config", "show", "--format", "yaml"], in: scratch.url)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("service_name: postgresql"))
        #expect(shown.stdout.contains("pullPolicy: IfNotPresent"))
        #expect(shown.stdout.contains("size: 8Gi"))
        try scratch.write("shown.yaml", shown.stdout)
        let again = try await FirestreamProcess.run(["config", "show", "shown.yaml", "--format", "yaml"], in: scratch.url)
        #expect(again.stdout == shown.stdout)
    }

    @Test func configShowRefusesAnInvalidConfig() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"replicaCount": "two"}"#)
        let outcome = try await FirestreamProcess.run(["config", "show"], in: scratch.url)
        #expect(outcome.status == 1)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("replicaCount: expected a whole number, found a string"))
    }

    @Test func helpAndVersion() async throws {
        let scratch = TemporaryDirectory()
        let version = try await FirestreamProcess.run(["--version"], in: scratch.url)
        #expect(version.stdout == "0.1.0\n")
        let help = try await FirestreamProcess.run(["--help"], in: scratch.url)
        for command in ["init", "validate", "config"] { #expect(help.stdout.contains(command)) }
        for command in ["init", "validate", "config"] {
            let commandHelp = try await FirestreamProcess.run(["help", command], in: scratch.url)
            #expect(commandHelp.status == 0)
            #expect(commandHelp.stdout.contains("Examples:"))
        }
        let showHelp = try await FirestreamProcess.run(["config", "show", "--help"], in: scratch.url)
        #expect(showHelp.stdout.contains("Examples:"))
    }
}
