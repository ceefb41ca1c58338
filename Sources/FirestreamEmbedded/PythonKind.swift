import FirestreamConfig
public import FirestreamPython
import FirestreamStreams
public import Foundation

/// A Python app outside a project (`firestream apps test`): its class described by a worker.
public enum PythonApps {
    public static func app(module: String, python: String, directory: URL, workers: Int = 1) throws -> PythonApp {
        let command = PythonCommand(python: python, module: module, directory: directory)
        let label = module.split(separator: ":").last.map { NameRules.suggestedLabel(from: String($0)) } ?? ""
        let name = label.isEmpty ? "app" : label
        let description = try PythonKind.describe(command, app: name)
        return PythonApp(name: name, inputs: description.inputs, output: description.output, workers: PythonWorkers(command, count: workers))
    }
}

/// Apps of kind `python`: a `firestream.App` subclass in a file of the project, run by worker
/// processes (`settings`: `module` = "path/file.py:Class", `python` = the interpreter, default
/// python3, `workers` = processes, default 1).
enum PythonKind {
    static let factory: AppCatalog.Factory = { app, settings, context in
        let command = try PythonKind.command(app, settings, directory: context.overrides.projectDirectory)
        let description = try PythonKind.describe(command, app: app.name)
        let workers = PythonWorkers(command, count: try settings.integer("workers", default: 1, in: 1...64))
        return AppRunner(PythonApp(name: app.name, inputs: description.inputs, output: description.output, workers: workers), limits: context.limits)
    }

    static func command(_ app: AppConfig, _ settings: AppCatalog.Settings, directory: String) throws -> PythonCommand {
        let module = try settings.string("module", default: "")
        guard module.contains(":"), !module.hasPrefix(":"), !module.hasSuffix(":") else {
            throw RuntimeError.badSetting(app: app.name, key: "module", reason: "expected \"path/file.py:Class\", e.g. \"apps/wiener.py:Wiener\"")
        }
        return PythonCommand(
            python: try settings.string("python", default: "python3"), module: module, directory: URL(fileURLWithPath: directory))
    }

    /// What the worker says of the class: its topics. Errors name the setting and the fix.
    struct Description: Decodable {
        var inputs: [String]
        var output: String
    }

    static func describe(_ command: PythonCommand, app: String) throws -> Description {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command.python, "-m", "firestream.worker", "--describe", command.module]
        process.currentDirectoryURL = command.directory
        let output = Pipe()
        // A file, not a pipe: a module that prints a lot while importing cannot block on it.
        let errorsFile = FileManager.default.temporaryDirectory.appending(path: "firestream-describe-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errorsFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        do {
            try process.run()
        } catch {
            throw RuntimeError.badSetting(app: app, key: "python", reason: "cannot run \(command.python): \(error)")
        }
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let complaint = String(decoding: FileManager.default.contents(atPath: errorsFile.path) ?? Data(), as: UTF8.self)
        if process.terminationStatus == 127 || complaint.contains("No such file or directory") && answer.isEmpty {
            throw RuntimeError.badSetting(app: app, key: "python", reason: "\(command.python) is not an interpreter on PATH")
        }
        if complaint.contains("No module named firestream") || complaint.contains("No module named 'firestream'") {
            throw RuntimeError.badSetting(
                app: app, key: "python",
                reason:
                    "the Python package firestream is not installed for \(command.python): \(command.python) -m pip install <firestream checkout>/python"
            )
        }
        if let failure = try? JSONDecoder().decode([String: String].self, from: answer), let reason = failure["error"] {
            throw RuntimeError.badSetting(app: app, key: "module", reason: reason)
        }
        guard process.terminationStatus == 0, let description = try? JSONDecoder().decode(Description.self, from: answer) else {
            let said = [complaint, String(decoding: answer, as: UTF8.self)].joined(separator: " ").trimmingCharacters(in: .whitespacesAndNewlines)
            throw RuntimeError.badSetting(
                app: app, key: "module", reason: "the Python worker could not describe it (exit status \(process.terminationStatus)): \(said)")
        }
        return description
    }
}
