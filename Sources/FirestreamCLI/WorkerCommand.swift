import ArgumentParser
import FirestreamConfig
import FirestreamEmbedded
import FirestreamKafka
import FirestreamStreams
import Foundation
import Synchronization
import UnixSignals

/// `firestream worker`: the project's stream apps on a Kafka cluster, sharing the work with
/// every other worker of the project.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the project's stream apps on a Kafka cluster, sharing their partitions with other workers.",
        discussion: """
            Runs the project's stream apps (or the demo's `wiener` app when the config
            declares none) against the Kafka cluster at --kafka, instead of the embedded
            log. Start as many workers as you like, on one machine or many: each app's
            workers form the consumer group firestream.<project>.<app>, which shares the input
            partitions among them. When a worker stops or dies (even kill -9), its
            partitions move to the others within the group's session timeout (45 s by
            default; a graceful stop hands them over at once); a new worker takes a share.

            Each input partition is a task. A new owner first fences the previous one
            (transactional id firestream.<project>.<app>.<partition>), restores the state
            and timers from the topic <project>.<app>.changelog, and reads from the offsets
            the group committed. Every step commits its outputs, its state changes and its
            input offsets in one Kafka transaction: read_committed consumers of the
            outputs see each input's effect exactly once, whatever crashes. With
            --at-least-once (for clusters without transactions) outputs and state are
            flushed first and offsets committed after: a crash can repeat a step.

            Input topics must exist, with equal partition counts; the output, dead-letter
            and changelog topics are created when missing (the changelog compacted where
            the cluster allows). Sources and effects run in `firestream up --kafka`, not here.

            The cluster comes from --kafka or the config's kafka.bootstrap, with
            kafka.security (the SASL password from the environment variable it names)
            and kafka.exactlyOnce; --kafka-setting adds any librdkafka setting.

            --health-port serves /healthz and /readyz (200 once every app is in its
            group with its partitions' state restored, 503 while it joins or restores).

            Examples:
              firestream up --no-apps --no-http       # a local cluster: Firestream's own broker
              firestream up --kafka 127.0.0.1:9092    # the project's sources, effects and gateway on it
              firestream worker --kafka 127.0.0.1:9092
              firestream worker --kafka broker:9092 --kafka-setting security.protocol=SASL_PLAINTEXT \\
                  --kafka-setting sasl.mechanism=SCRAM-SHA-256 --kafka-setting sasl.username=apps \\
                  --kafka-setting sasl.password=$TOKEN
            """
    )

    @Option(name: .long, help: "The project config file or directory (default: the current directory).")
    var config: String?

    @OptionGroup var cluster: ClusterArguments

    @Option(help: "Seconds between status lines; 0 for none.")
    var statusInterval: Int = 10

    @Option(help: "Serve /healthz and /readyz on this port of 127.0.0.1 (0 picks a free one; default: none).")
    var healthPort: Int?

    @Option(help: "The address of the health port (0.0.0.0 for an orchestrator's probes from outside).")
    var healthHost: String = "127.0.0.1"

    func validate() throws {
        if statusInterval < 0 { throw ValidationError("--status-interval must be 0 or more") }
        if let healthPort, !(0...65535).contains(healthPort) { throw ValidationError("--health-port must be between 0 and 65535") }
    }

    func run() async throws {
        let project = try ProjectLocation.resolve(config: config, dataDir: nil)
        guard let options = try cluster.options(project.config) else {
            printError("error: no Kafka cluster: pass --kafka host:port, or set kafka.bootstrap in the config")
            throw ExitCode.failure
        }
        let bootstrap = options.settings["bootstrap.servers"] ?? "?"
        var workers: [any WorkerRunning] = []
        for app in AppCatalog.apps(of: project.config) {
            let runnable: any Runnable
            do {
                runnable = try AppCatalog.current.runnable(
                    for: app, project: project.config.name, overrides: AppCatalog.Overrides(projectDirectory: project.directory))
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            guard let streamApp = runnable as? any StreamAppRunnable else {
                printLine("note: \(runnable.name) is not a stream app; it runs in `firestream up`, not in workers")
                continue
            }
            workers.append(Self.worker(for: streamApp, options: options))
        }
        guard !workers.isEmpty else {
            printError("error: the project declares no stream apps for workers to run")
            throw ExitCode.failure
        }
        printLine(
            "Firestream \(FirestreamVersion.current) worker — project \"\(project.config.name)\" on \(bootstrap) (\(options.exactlyOnce ? "exactly once" : "at least once"))"
        )
        for worker in workers { printLine("  app:    \(worker.summary)") }
        printLine("Running. Press Ctrl-C to stop.")
        try await runUntilStopped(workers)
    }

    private static func worker<R: StreamAppRunnable>(for runnable: R, options: KafkaWorkerOptions) -> any WorkerRunning {
        KafkaAppWorker(runnable.appRunner, options: options)
    }

    /// Runs the workers until SIGINT or SIGTERM (each finishes its step and leaves its group),
    /// printing status lines; an app that cannot run ends the command with its reason.
    private func runUntilStopped(_ workers: [any WorkerRunning]) async throws {
        let interval = statusInterval
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { try await worker.run() } }
                if let port = healthPort {
                    let host = healthHost
                    group.addTask {
                        try await WorkerHealth.serve(host: host, port: port, workers: workers) { bound in
                            printLine("  health: http://\(host):\(bound)/readyz")
                        }
                    }
                }
                group.addTask {
                    for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                        printLine("\(signal): stopping (each app finishes its step)")
                        throw CancellationError()
                    }
                }
                if interval > 0 {
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(interval))
                            printLine("status: " + workers.map(\.status).joined(separator: "; "))
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
            printLine("stopped")
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// A worker as the command holds it: whatever its app's type.
protocol WorkerRunning: Sendable {
    var appName: String { get }
    var summary: String { get }
    var status: String { get }
    var isReady: Bool { get }
    var partitions: [Int] { get }
    func run() async throws
}

extension KafkaAppWorker: WorkerRunning {
    var appName: String { app.name }
}
