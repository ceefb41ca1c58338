import FirestreamDeploy
import Foundation

/// Runs external programs for `deploy` and `cluster`: found on PATH (a missing one is an error
/// with install steps), their output shown as it comes, or captured when Firestream reads it.
enum ToolProcess {
    static let run: ToolRunner = { call in
        let executable = try call.tool.locate(path: ProcessInfo.processInfo.environment["PATH"])
        let process = Process()
        process.executableURL = executable
        process.arguments = call.arguments
        var capture: URL?
        if call.captured {
            // A file rather than a pipe: a chatty program can never block on a full pipe.
            let file = FileManager.default.temporaryDirectory.appending(path: "firestream-\(call.tool.name)-\(UUID().uuidString).out")
            FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forWritingTo: file)
            process.standardOutput = handle
            process.standardError = handle
            capture = file
        }
        defer { if let capture { try? FileManager.default.removeItem(at: capture) } }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let output = capture.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
        return ToolResult(status: status, output: output)
    }

    static let report: @Sendable (String) -> Void = { line in
        print(line)
        fflush(nil)
    }
}
