import ArgumentParser
import FirestreamConfig
import FirestreamLog
import FirestreamWarehouse
import Foundation

/// The project a runtime command works on: its config (defaults when there is no file) and
/// its data directory (`.firestream/` beside the config unless `--data-dir` says otherwise).
struct ProjectLocation {
    var config: ProjectConfig
    var dataDirectory: String
    /// Where the config file is (the working directory when there is none).
    var directory: String

    /// With `config` nil, a project directory without a config file runs on defaults; a config
    /// file that exists but is invalid is always an error, reported like `firestream validate`.
    static func resolve(config path: String?, dataDir: String?) throws -> ProjectLocation {
        let cwd = ConfigLoader.currentDirectory
        let hasConfig: Bool
        if path != nil {
            hasConfig = true
        } else {
            hasConfig = ConfigLoader.fileNames.contains { FileManager.default.fileExists(atPath: cwd.appendingPathComponent($0).path) }
        }
        var projectDirectory = cwd
        let config: ProjectConfig
        if hasConfig {
            let report = ConfigLoader.load(path)
            if !report.diagnostics.isEmpty { printError(DiagnosticRenderer.text(report), terminator: "") }
            guard let loaded = report.config else { throw ExitCode.failure }
            config = loaded
            projectDirectory = report.directory ?? cwd
        } else {
            let name = NameRules.suggestedLabel(from: cwd.lastPathComponent)
            config = ProjectConfig(name: name.isEmpty ? "firestream" : name)
        }
        let data = dataDir.map { ConfigLoader.resolve($0, against: cwd).path } ?? projectDirectory.appendingPathComponent(".firestream").path
        return ProjectLocation(config: config, dataDirectory: data, directory: projectDirectory.path)
    }

    /// The project's log, opened read-only (beside a running `up`); a failure is printed and exits.
    func readOnlyLog() throws -> Log {
        do {
            return try Log(directory: dataDirectory, readOnly: true)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }

    /// The PostgreSQL warehouse, as its read-only user.
    func postgresReader() throws -> PostgresQueryEngine {
        let settings = config.warehouse
        if let host = settings.host {
            guard let variable = settings.passwordEnv, let password = ProcessInfo.processInfo.environment[variable] else {
                throw ValidationError("the warehouse's password is in $\(settings.passwordEnv ?? "?"), which is not set")
            }
            return PostgresQueryEngine(host: host, port: settings.port, user: settings.user, password: password, database: settings.database)
        }
        guard let stored = ManagedPostgres.storedCredentials(dataDirectory: dataDirectory) else {
            printError(
                "error: the PostgreSQL warehouse has not run yet: start it with `firestream up --warehouse postgres` (or query SQLite with --warehouse sqlite)"
            )
            throw ExitCode.failure
        }
        return PostgresQueryEngine(
            host: stored.host, port: stored.port, user: stored.reader, password: stored.readerPassword, database: stored.database, maxConcurrent: 1)
    }
}
