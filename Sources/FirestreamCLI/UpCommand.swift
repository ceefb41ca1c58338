import ArgumentParser
import FirestreamConfig
import FirestreamEmbedded
import FirestreamFormats
import FirestreamGateway
import FirestreamLog
import FirestreamStreams
import Foundation
import UnixSignals

/// How `up` acknowledges appends.
enum DurabilityChoice: String, ExpressibleByArgument, CaseIterable {
    case fsync
    case os
}

/// What `up --with` adds beside the stack.
enum Companion: String, ExpressibleByArgument, CaseIterable {
    case airflow
}

/// `firestream up`: runs the whole stack in this process until Ctrl-C.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the embedded log and the project's apps until Ctrl-C.",
        discussion: """
            Reads the project config (./firestream.json or .yaml; without one, the
            defaults), opens the log under .firestream/ beside it, creates the declared
            topics and runs the declared apps — or, when the config declares none, the
            built-in demo: a metronome writing one reading per device per tick to topic
            `metronome`, and the `wiener` app turning them into a Wiener process per
            device in topic `wiener`. An HTTP gateway listens on 127.0.0.1:8000: the
            live dashboard at /, WebSocket streams at
            /ws/topics/{topic}?from=latest|earliest|-N|<offset>, WebSocket ingest at
            /ws/ingest/{topic}, GET /topics, GET /topics/{topic}/records, POST
            /topics/{topic} (JSON, arrays or NDJSON; acknowledged once durable),
            /metrics, /healthz.

            On a Kafka cluster (--kafka host:port, or kafka.bootstrap in the config):
            no data directory and no Kafka listener; the declared topics are created on
            the cluster, sources append to it, the stream apps run here as workers
            (exactly once, like `firestream worker`, which adds more of them), effects
            and the gateway read it. --embedded ignores kafka.bootstrap. When the
            cluster stops answering, requests get 503 with the reason and sources and
            effects start again once it is back. --no-apps runs no apps, sources or
            effects: a local cluster for other projects' `up --kafka` and workers.

            Kafka clients (kcat, librdkafka, kafka-python, aiokafka…) connect to
            127.0.0.1:9092 with their default settings and produce to and fetch from
            the same topics (docs/kafka.md). The config's `kafka` section sets the
            listener, the advertised host and topic auto-creation; --kafka-port
            overrides the port and --no-kafka turns it off. Without gateway tokens
            the listener needs no sign-in and stays on loopback; with them, clients
            sign in with SASL (PLAIN, SCRAM-SHA-256/512: user name the token's name,
            password the token) and the listener may use any address.

            The dashboard needs Plotly.js, found in the Python package `plotly` (python3
            -m pip install plotly) or given with --plotly-js.

            Access: without tokens in the config the gateway is open, so it only listens
            on loopback; --host with any other address needs gateway.tokens (firestream
            token create). Other web pages cannot use it (Host and Origin are checked),
            clients cannot write the runtime's own topics, and every size and time is
            bounded (docs/security.md, docs/limits.md).

            Ctrl-C (or SIGTERM) stops it gracefully: each app finishes its step, outputs
            are made durable, and it exits 0. A second Ctrl-C exits at once (nothing
            acknowledged is lost).

            Examples:
              firestream up                           # the project in this directory
              firestream up --rate 100                # the demo metronome, 100 ticks/s
              firestream up --port 8080 --host 0.0.0.0  # all interfaces (needs tokens)
              firestream up --config deploy/firestream.yaml --data-dir /var/lib/fs
              firestream topics tail wiener --follow  # in another terminal
              kcat -b 127.0.0.1:9092 -C -t wiener     # the same topic, as a Kafka client
              firestream up --with airflow            # and Airflow on :8080, running dags/
            """
    )

    @Option(name: .long, help: "The project config file or directory (default: the current directory).")
    var config: String?

    @Option(help: "Where the log lives (default: .firestream/ beside the config).")
    var dataDir: String?

    @Option(help: "Metronome ticks per second (overrides the config; default 1).")
    var rate: Double?

    @Option(help: "fsync: acknowledge appends after fsync (group commit). os: after write(2) only.")
    var durability: DurabilityChoice = .fsync

    @Option(help: "Seconds between status lines; 0 for none.")
    var statusInterval: Int = 10

    @Option(help: "Address the HTTP gateway listens on; 0.0.0.0 exposes it to the network (needs tokens in the config).")
    var host: String = "127.0.0.1"

    @Option(help: "HTTP port; 0 picks a free one.")
    var port: Int = 8000

    @Flag(help: "Run without the HTTP gateway.")
    var noHTTP = false

    @Option(help: "Kafka listener port (overrides kafka.listener in the config; default 9092); 0 picks a free one.")
    var kafkaPort: Int?

    @Flag(help: "Run without the Kafka listener.")
    var noKafka = false

    @OptionGroup(title: "On a Kafka cluster") var cluster: ClusterArguments

    @Flag(help: "Use the embedded log even when the config names a Kafka cluster (kafka.bootstrap).")
    var embedded = false

    @Flag(help: "Run no apps, sources or effects: the log, the Kafka listener and the gateway only (a local cluster for `up --kafka` and workers).")
    var noApps = false

    @Option(help: "Plotly.js for the dashboard (default: plotly/package_data/plotly.min.js of the Python package).")
    var plotlyJs: String?

    @Option(
        help: ArgumentHelp(
            "Where declared tables live and SQL runs: sqlite (built in) or postgres (overrides warehouse.engine).",
            discussion:
                "postgres runs a PostgreSQL server from Debian's postgresql package, on 127.0.0.1:5433 (warehouse.port), for BI tools and psql."))
    var warehouse: WarehouseConfig.Engine?

    @Option(
        name: .customLong("with"),
        help: ArgumentHelp(
            "Also run a companion: airflow (`airflow standalone` wired to this gateway; docs/airflow.md).",
            discussion:
                "airflow runs from the virtualenv --airflow-venv names (Airflow 3 and integrations/airflow installed), with the connection firestream_default, the project's dags/ folder, and its UI on --airflow-port."
        ))
    var with: [Companion] = []

    @Option(help: "The virtualenv holding Airflow and the Firestream provider (default: <data dir>/airflow/venv).")
    var airflowVenv: String?

    @Option(help: "Port of Airflow's UI and API under --with airflow.")
    var airflowPort: Int = 8080

    @Option(
        help: ArgumentHelp(
            "Journal bytes between app state snapshots, e.g. 64Mi (the default).",
            discussion: "Smaller: faster restarts and less disk for journals, more writes."))
    var snapshotEvery: String = "64Mi"

    func validate() throws {
        if let rate, !(rate > 0 && rate <= 1_000_000) { throw ValidationError("--rate must be between 0 and 1000000 ticks per second") }
        if statusInterval < 0 { throw ValidationError("--status-interval must be 0 or more") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if let kafkaPort, !(0...65535).contains(kafkaPort) { throw ValidationError("--kafka-port must be between 0 and 65535") }
        if kafkaPort != nil && noKafka { throw ValidationError("--kafka-port and --no-kafka contradict each other") }
        if cluster.address.kafka != nil && noApps {
            throw ValidationError("--no-apps runs the embedded log alone; with --kafka it would run nothing")
        }
        if cluster.address.kafka != nil && embedded { throw ValidationError("--kafka and --embedded contradict each other") }
        if cluster.address.kafka != nil && kafkaPort != nil {
            throw ValidationError("--kafka-port is the embedded log's Kafka listener; with --kafka the cluster serves Kafka clients")
        }
        if with.contains(.airflow) && noHTTP { throw ValidationError("--with airflow talks to the HTTP gateway; it cannot run with --no-http") }
        if !(1...65535).contains(airflowPort) { throw ValidationError("--airflow-port must be between 1 and 65535") }
        _ = try snapshotBytes()
    }

    /// `--with airflow`'s settings: the virtualenv, AIRFLOW_HOME under the data directory, dags/ in the project.
    private func airflowOptions(_ project: ProjectLocation) throws -> AirflowOptions? {
        guard with.contains(.airflow) else { return nil }
        let base = project.dataDirectory + "/airflow"
        let virtualenv = airflowVenv.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? base + "/venv"
        let options = AirflowOptions(
            virtualenv: virtualenv, home: base + "/home", dagsFolder: project.directory + "/dags", port: airflowPort)
        if let problem = options.problem() {
            printError("error: \(problem)")
            throw ExitCode.failure
        }
        return options
    }

    private func snapshotBytes() throws -> Int64 {
        do {
            let bytes = try Quantity.parse(snapshotEvery, as: .bytes).wholeUnits
            guard (1024...(1 << 40)).contains(bytes) else { throw ValidationError("--snapshot-every must be between 1Ki and 1Ti") }
            return bytes
        } catch let problem as Quantity.Problem {
            throw ValidationError("--snapshot-every: \(problem.message)\(problem.hint.map { " (\($0))" } ?? "")")
        }
    }

    func run() async throws {
        let project = try ProjectLocation.resolve(config: config, dataDir: dataDir)
        var gateway: Gateway.Options?
        if !noHTTP {
            let plotly = PlotlyAsset.locate(explicit: plotlyJs)
            if case .missing(let why) = plotly {
                printLine("note: the dashboard is off. \(why) Install it with: python3 -m pip install plotly (or pass --plotly-js PATH).")
            }
            gateway = Gateway.Options(host: host, port: port, plotly: plotly)
        }
        var kafka = project.config.kafka
        if let kafkaPort { kafka.listener.port = kafkaPort }
        var options = EmbeddedStack.Options(
            dataDirectory: project.dataDirectory, durability: durability == .fsync ? .default : .osBuffered, catalog: AppCatalog.current,
            overrides: AppCatalog.Overrides(
                metronomeRate: rate, limits: TaskLimits(snapshotEveryBytes: try snapshotBytes()), projectDirectory: project.directory),
            statusInterval: statusInterval, gateway: gateway, kafka: noKafka || !kafka.enabled ? nil : kafka,
            cluster: embedded || noApps ? nil : try cluster.options(project.config), stopSignals: [.sigint, .sigterm])
        options.runsProject = !noApps
        options.airflow = try airflowOptions(project)
        var config = project.config
        if let warehouse { config.warehouse.engine = warehouse }
        let stack = EmbeddedStack(config: config, options: options)
        do {
            try await stack.run(report: { printLine($0) })
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// Prints a line and flushes, so progress shows up promptly through pipes.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
