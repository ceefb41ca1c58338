import Foundation
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// `up --with airflow`: Apache Airflow's `airflow standalone` (api-server, scheduler,
/// dag-processor, triggerer on SQLite) as a child of `up`, from a virtualenv that holds Airflow
/// and the Firestream provider, with the connection `firestream_default` pointing at this
/// gateway and the project's `dags/` folder. Airflow stays Airflow: Firestream only starts it,
/// wires it, and stops it with itself.
public struct AirflowOptions: Sendable {
    /// The virtualenv (its `bin/airflow` runs).
    public var virtualenv: String
    /// AIRFLOW_HOME: its config, SQLite database, logs and generated admin password.
    public var home: String
    public var dagsFolder: String
    /// The Airflow UI and API.
    public var port: Int

    public init(virtualenv: String, home: String, dagsFolder: String, port: Int = 8080) {
        self.virtualenv = virtualenv
        self.home = home
        self.dagsFolder = dagsFolder
        self.port = port
    }

    public var executable: String { virtualenv + "/bin/airflow" }
    public var logPath: String { home + "/standalone.log" }

    /// How Airflow reaches a gateway listening on `host`: all interfaces through loopback.
    static func gatewayURL(host: String, port: Int) -> String {
        switch host {
        case "0.0.0.0", "": return "http://127.0.0.1:\(port)"
        case "::": return "http://[::1]:\(port)"
        default: return host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        }
    }

    /// Why Airflow cannot start from `virtualenv`, with the commands that make it ready.
    public func problem() -> String? {
        guard !FileManager.default.isExecutableFile(atPath: executable) else { return nil }
        return """
            --with airflow: no Airflow in \(virtualenv) (\(executable) is missing). Create it once with:
              python3 -m venv \(virtualenv)
              \(virtualenv)/bin/pip install apache-airflow==3.3.2 <firestream checkout>/integrations/airflow
            or name another virtualenv with --airflow-venv (docs/airflow.md)
            """
    }

    /// The child's environment: the inherited one, with Airflow's settings. A setting already in
    /// the environment wins (a user may tune Airflow as usual), except the connection.
    func environment(gatewayURL: String, token: String?, inherited: [String: String]) -> [String: String] {
        var connection: [String: Any] = ["conn_type": "firestream", "host": gatewayURL]
        if let token { connection["password"] = token }
        let connectionJSON =
            (try? JSONSerialization.data(withJSONObject: connection, options: [.sortedKeys, .withoutEscapingSlashes]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var environment = inherited
        let defaults = [
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": dagsFolder,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            // The project's own DAGs: running as soon as they are parsed, as in `astro dev`.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            // The local executor starts this many worker processes up front (32 by default).
            "AIRFLOW__CORE__PARALLELISM": "4",
            // Loopback only, as the gateway without tokens; tasks reach the execution API there.
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": String(port),
            "AIRFLOW__API__BASE_URL": "http://127.0.0.1:\(port)",
        ]
        environment.merge(defaults) { mine, _ in mine }
        environment["AIRFLOW_CONN_FIRESTREAM_DEFAULT"] = connectionJSON
        // `airflow standalone` starts its components as `airflow …` by name.
        environment["PATH"] = virtualenv + "/bin:" + (inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        return environment
    }
}

/// Runs `airflow standalone` once the gateway is listening, in a process group of its own.
/// Graceful shutdown sends the group SIGTERM, which each component (api-server, scheduler,
/// dag-processor, triggerer) answers by stopping, in about 7 s here (standalone itself does not
/// stop its components on SIGINT or SIGTERM: measured with 3.3.2), and SIGKILL after 30 s; an immediate exit (a second
/// Ctrl-C) kills the group at once (`ChildGroups`). An Airflow that ends by itself is reported;
/// `up` goes on.
struct AirflowStandalone: Service {
    let options: AirflowOptions
    /// The gateway's URL, once it is bound.
    let gatewayURL: AsyncStream<String>
    /// A token the gateway accepts, when it needs one.
    let token: String?
    let report: @Sendable (String) -> Void

    func run() async throws {
        var url: String?
        for await bound in gatewayURL.cancelOnGracefulShutdown() {
            url = bound
            break
        }
        guard let url, !Task.isShuttingDownGracefully else { return }
        try FileManager.default.createDirectory(atPath: options.home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: options.dagsFolder, withIntermediateDirectories: true)
        let environment = options.environment(gatewayURL: url, token: token, inherited: ProcessInfo.processInfo.environment)
        let pid = try ChildGroups.spawn(options.executable, ["standalone"], environment: environment, output: options.logPath)
        report(
            "  airflow: http://127.0.0.1:\(options.port) (airflow standalone from \(options.virtualenv); DAGs: \(options.dagsFolder); log: \(options.logPath); the admin password is in \(options.home)/simple_auth_manager_passwords.json.generated)"
        )
        let status = await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await ChildGroups.exit(of: pid)
            } onGracefulShutdown: {
                ChildGroups.stop(pid, grace: .seconds(30))
            }
        } onCancel: {
            ChildGroups.stop(pid, grace: .seconds(30))
        }
        if !Task.isShuttingDownGracefully && !Task.isCancelled {
            report("airflow standalone ended (\(status)); see \(options.logPath). Firestream goes on.")
        }
    }
}
