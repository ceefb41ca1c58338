public import Foundation

/// A command-line program Firestream drives (kubectl, helm, k3d, docker …), found on PATH.
public struct ExternalTool: Sendable, Equatable {
    public let name: String
    /// How to install it, for the message when it is missing.
    public let linux: String
    public let macOS: String

    public static let kubectl = ExternalTool(
        name: "kubectl",
        linux: """
            curl -LO "https://dl.k8s.io/release/$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl" \\
                  && sudo install -m 0755 kubectl /usr/local/bin/kubectl
            """,
        macOS: "brew install kubectl")
    public static let k3d = ExternalTool(
        name: "k3d",
        linux:
            "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash   (k3d needs Docker: https://docs.docker.com/engine/install/)",
        macOS: "brew install k3d   (and Docker Desktop, OrbStack or colima)")
    public static let helm = ExternalTool(
        name: "helm", linux: "curl -fsSL https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash", macOS: "brew install helm")

    public static let docker = ExternalTool(
        name: "docker", linux: "https://docs.docker.com/engine/install/ (or Debian's docker.io package)", macOS: "Docker Desktop, OrbStack or colima")

    /// The program's path on `path` (a PATH value), or the error that says how to install it.
    public func locate(path: String?) throws(MissingTool) -> URL {
        for directory in (path ?? "").split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appending(path: name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw MissingTool(tool: self)
    }
}

/// A program that is not installed, with the exact steps to install it.
public struct MissingTool: Error, CustomStringConvertible, Sendable {
    public let tool: ExternalTool

    public var description: String {
        """
        \(tool.name) is not on PATH. Install it, then run this again:
          Linux:  \(tool.linux)
          macOS:  \(tool.macOS)
        """
    }
}

/// One run of an external program: what it is for (shown as progress), and whether its output
/// is read by Firestream (captured) or shown to the user as it comes.
public struct ToolCall: Sendable, Equatable, CustomStringConvertible {
    public let tool: ExternalTool
    public let arguments: [String]
    public let purpose: String
    public let captured: Bool

    public init(_ tool: ExternalTool, _ arguments: [String], _ purpose: String, captured: Bool = false) {
        self.tool = tool
        self.arguments = arguments
        self.purpose = purpose
        self.captured = captured
    }

    /// The command line, quoted where a shell would need it.
    public var description: String {
        ([tool.name] + arguments).map { argument in
            argument.contains(where: { " '\"$*?;&|<>()".contains($0) }) ? "'\(argument.replacingOccurrences(of: "'", with: "'\\''"))'" : argument
        }.joined(separator: " ")
    }
}

/// What a finished call gave back.
public struct ToolResult: Sendable {
    public let status: Int32
    /// Standard output, when the call was captured.
    public let output: String

    public init(status: Int32, output: String) {
        self.status = status
        self.output = output
    }
}

/// A call that failed: the command and its status, and what it printed when captured.
public struct ToolFailed: Error, CustomStringConvertible, Sendable {
    public let call: ToolCall
    public let result: ToolResult

    public var description: String {
        "\(call.purpose) failed: `\(call)` exited with status \(result.status)" + (result.output.isEmpty ? "" : "\n\(result.output)")
    }
}

/// Runs calls: the CLI's runner starts processes; tests may record them.
public typealias ToolRunner = @Sendable (ToolCall) async throws -> ToolResult

/// Runs `call`, shown as progress unless it is captured, and throws ``ToolFailed`` when it
/// exits with a status other than 0.
@discardableResult
func checked(_ call: ToolCall, run: ToolRunner, report: (String) -> Void) async throws -> ToolResult {
    if !call.captured { report("==> \(call.purpose): \(call)") }
    let result = try await run(call)
    guard result.status == 0 else { throw ToolFailed(call: call, result: result) }
    return result
}
