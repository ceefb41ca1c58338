import FirestreamLog
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A PostgreSQL server Firestream runs for BI tools (`up --warehouse postgres`): Debian's
/// `postgresql` package, its data under the project's data directory, listening on loopback
/// only, with generated credentials. Firestream itself may run as root; PostgreSQL refuses to,
/// so then it runs as the unprivileged `postgres` user the package creates (through `setpriv`).
public final class ManagedPostgres: Sendable {
    /// What clients connect with; stored 0600 beside the data (`warehouse-credentials.json`).
    public struct Credentials: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public var database: String
        /// The owner: tables are written as this user.
        public var user: String
        public var password: String
        /// A read-only user for queries and BI tools (`pg_read_all_data`).
        public var reader: String
        public var readerPassword: String

        /// `postgresql://reader:…@127.0.0.1:5433/firestream`.
        public var readerURL: String { "postgresql://\(reader):\(readerPassword)@\(host):\(port)/\(database)" }
        public var ownerURL: String { "postgresql://\(user):\(password)@\(host):\(port)/\(database)" }
    }

    public let directory: String
    public let port: Int
    public let binaries: String
    private let server = Locked<Process?>(nil)
    /// The user PostgreSQL runs as when Firestream is root.
    private let account: (name: String, uid: uid_t, gid: gid_t)?

    var dataPath: String { directory + "/pgdata" }
    var logPath: String { directory + "/postgres.log" }
    public var credentialsPath: String { directory + "-credentials.json" }

    /// `dataDirectory`: the project's; the server's files go to `<dataDirectory>/postgres`.
    public init(dataDirectory: String, port: Int = 5433) throws(WarehouseError) {
        directory = dataDirectory + "/postgres"
        self.port = port
        binaries = try Self.findBinaries()
        if geteuid() == 0 {
            guard let entry = getpwnam("postgres") else {
                throw WarehouseError(
                    "PostgreSQL refuses to run as root, and there is no unprivileged \"postgres\" user to run it as (the postgresql package creates one)"
                )
            }
            account = ("postgres", entry.pointee.pw_uid, entry.pointee.pw_gid)
        } else {
            account = nil
        }
    }

    /// The newest PostgreSQL under /usr/lib/postgresql (Debian), or FIRESTREAM_POSTGRES_BIN.
    static func findBinaries() throws(WarehouseError) -> String {
        let manager = FileManager.default
        if let chosen = ProcessInfo.processInfo.environment["FIRESTREAM_POSTGRES_BIN"], manager.isExecutableFile(atPath: chosen + "/postgres") {
            return chosen
        }
        let versions = ((try? manager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() where manager.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        throw WarehouseError(
            "PostgreSQL is not installed: run `sudo apt-get install postgresql` (Debian, Ubuntu), or set FIRESTREAM_POSTGRES_BIN to the directory holding initdb and postgres"
        )
    }

    /// Creates the cluster on first use, starts the server, and waits until it accepts connections.
    public func start(report: @Sendable (String) -> Void) async throws -> Credentials {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let account { chown(directory, account.uid, account.gid) }
        try checkReachable()
        stopLeftover(report: report)
        let credentials: Credentials
        if manager.fileExists(atPath: dataPath + "/PG_VERSION"), let stored = readCredentials() {
            credentials = stored
        } else {
            try? manager.removeItem(atPath: dataPath)
            credentials = Credentials(
                host: "127.0.0.1", port: port, database: "firestream", user: "firestream", password: Self.secret(), reader: "firestream_reader",
                readerPassword: Self.secret())
            try initialize(credentials)
            report("warehouse: created a PostgreSQL cluster in \(dataPath)")
        }
        var current = credentials
        current.port = port
        try launch()
        try await waitUntilReady()
        try writeCredentials(current)
        return current
    }

    /// Stops the server (fast shutdown: running queries are cancelled, everything committed stays).
    public func stop() {
        guard let process = server.withLock({ $0 }) else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
        }
        server.withLock { $0 = nil }
    }

    private func initialize(_ credentials: Credentials) throws {
        let passwordFile = directory + "/initdb-password"
        try Data(credentials.password.utf8).write(to: URL(fileURLWithPath: passwordFile))
        chmod(passwordFile, 0o600)
        if let account { chown(passwordFile, account.uid, account.gid) }
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        try runToEnd(
            binaries + "/initdb",
            ["-D", dataPath, "-U", credentials.user, "--pwfile=\(passwordFile)", "-A", "scram-sha-256", "-E", "UTF8", "--no-instructions"])
        try launch()
        defer { stop() }
        // One -c each: psql runs a -c of several statements as one transaction, and CREATE
        // DATABASE refuses to run inside one.
        let setup = [
            "CREATE DATABASE \(credentials.database)", "CREATE ROLE \(credentials.reader) LOGIN PASSWORD '\(credentials.readerPassword)'",
            "GRANT pg_read_all_data TO \(credentials.reader)", "ALTER ROLE \(credentials.reader) SET default_transaction_read_only = on",
        ]
        try runToEnd(
            binaries + "/psql",
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", String(port), "-U", credentials.user, "-d", "postgres"]
                + setup.flatMap { ["-c", $0] },
            environment: ["PGPASSWORD": credentials.password], waitForServer: true)
    }

    /// Starts `postgres` as a child process, its output appended to `postgres.log`.
    private func launch() throws {
        let arguments = [
            "-D", dataPath, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=\(directory)",
        ]
        let process = command(binaries + "/postgres", arguments)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        if let account { chown(logPath, account.uid, account.gid) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        server.withLock { $0 = process }
    }

    /// Waits for `pg_isready`, at most 60 s; a server that exits says why from its log.
    private func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard server.withLock({ $0?.isRunning }) == true else {
                throw WarehouseError("PostgreSQL stopped while starting; the end of \(logPath):\n\(logTail())")
            }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: binaries + "/pg_isready")
            probe.arguments = ["-q", "-h", "127.0.0.1", "-p", String(port)]
            try probe.run()
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WarehouseError("PostgreSQL did not accept connections within 60 s; the end of \(logPath):\n\(logTail())")
    }

    /// A server left running by a Firestream that was killed (the data directory's lock says no
    /// other one runs now): stopped before starting anew.
    private func stopLeftover(report: @Sendable (String) -> Void) {
        guard let text = try? String(contentsOfFile: dataPath + "/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }), pid > 0, kill(pid, 0) == 0
        else { return }
        report("warehouse: stopping PostgreSQL (pid \(pid)) left running by an earlier run")
        kill(pid, SIGINT)
        for _ in 0..<300 where kill(pid, 0) == 0 { usleep(100_000) }
    }

    /// The unprivileged user must reach the data directory (a parent like /root may be closed).
    private func checkReachable() throws {
        guard account != nil else { return }
        let probe = command("/usr/bin/test", ["-w", directory])
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw WarehouseError(
                "PostgreSQL runs as the unprivileged user postgres, which cannot write \(directory): a parent directory is closed to it (e.g. /root is 0700); put the project (or --data-dir) where that user can reach it"
            )
        }
    }

    /// `executable` as the unprivileged user when Firestream is root.
    private func command(_ executable: String, _ arguments: [String]) -> Process {
        let process = Process()
        if let account {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(account.name)", "--regid=\(account.name)", "--init-groups", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        return process
    }

    private func runToEnd(_ executable: String, _ arguments: [String], environment: [String: String] = [:], waitForServer: Bool = false) throws {
        if waitForServer {
            for _ in 0..<600 {
                let probe = Process()
                probe.executableURL = URL(fileURLWithPath: binaries + "/pg_isready")
                probe.arguments = ["-q", "-h", directory, "-p", String(port)]
                try probe.run()
                probe.waitUntilExit()
                if probe.terminationStatus == 0 { break }
                usleep(100_000)
            }
        }
        let process = command(executable, arguments)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw WarehouseError("\(URL(fileURLWithPath: executable).lastPathComponent) failed (exit \(process.terminationStatus)): \(text)")
        }
    }

    private func readCredentials() -> Credentials? { Self.storedCredentials(dataDirectory: String(directory.dropLast("/postgres".count))) }

    /// The credentials the managed server of the project in `dataDirectory` was given, if it ran.
    public static func storedCredentials(dataDirectory: String) -> Credentials? {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/postgres-credentials.json") else { return nil }
        return try? JSONDecoder().decode(Credentials.self, from: data)
    }

    private func writeCredentials(_ credentials: Credentials) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let temporary = credentialsPath + ".tmp"
        FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600])
        try encoder.encode(credentials).write(to: URL(fileURLWithPath: temporary))
        chmod(temporary, 0o600)
        guard rename(temporary, credentialsPath) == 0 else {
            throw WarehouseError("cannot write \(credentialsPath): \(String(cString: strerror(errno)))")
        }
    }

    private func logTail() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    /// 24 random URL-safe characters (about 143 bits).
    static func secret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
}

/// A warehouse that cannot start or serve, with what to do about it.
public struct WarehouseError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
