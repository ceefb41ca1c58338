public import Foundation

/// `firestream image build`: Firestream's container image from a binary already built — the
/// binary, the shared libraries it links (as `ldd` lists them), CA certificates and Plotly.js on
/// an empty base (FROM scratch), running as an unprivileged user. Built with docker, podman or
/// buildah, whichever is installed. (The repository's Dockerfile builds from source instead.)
public struct ImageBuilder: Sendable {
    public static let buildah = ExternalTool(
        name: "buildah", linux: "sudo apt-get install buildah   (or podman, or Docker)", macOS: "brew install podman   (or Docker Desktop)")
    public static let podman = ExternalTool(name: "podman", linux: "sudo apt-get install podman", macOS: "brew install podman")
    public static let ldd = ExternalTool(name: "ldd", linux: "part of glibc (libc-bin)", macOS: "images are built on Linux")

    /// Paths inside the image.
    public static let binaryPath = "/usr/local/bin/firestream"
    public static let plotlyPath = "/usr/share/firestream/plotly.min.js"
    public static let dataPath = "/var/lib/firestream"
    public static let user = "10001:10001"

    public let tag: String
    public let binary: URL
    /// Plotly.js for the dashboard, when this machine has it.
    public let plotly: URL?
    let run: ToolRunner
    let report: @Sendable (String) -> Void

    public init(tag: String, binary: URL, plotly: URL?, run: @escaping ToolRunner, report: @escaping @Sendable (String) -> Void) {
        self.tag = tag
        self.binary = binary
        self.plotly = plotly
        self.run = run
        self.report = report
    }

    /// The first of docker, podman and buildah on `path`.
    public static func builder(path: String?) throws(MissingTool) -> ExternalTool {
        for tool in [ExternalTool.docker, podman, buildah] where (try? tool.locate(path: path)) != nil { return tool }
        throw MissingTool(tool: buildah)
    }

    /// The libraries `ldd` lists for the binary, the dynamic loader among them.
    static func libraries(fromLDD output: String) throws -> [String] {
        var paths: [String] = []
        for line in output.split(separator: "\n") {
            if line.contains("not found") {
                throw DeployApplyError(
                    description: "a library of the binary is missing on this machine: \(line.trimmingCharacters(in: .whitespaces))")
            }
            guard let path = line.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("/") }) else { continue }
            paths.append(String(path))
        }
        return paths
    }

    /// Lays out the image's files under `root/rootfs`, with a Containerfile beside it.
    func stage(in root: URL) async throws {
        let files = FileManager.default
        let rootfs = root.appending(path: "rootfs")
        let listing = try await checked(
            ToolCall(Self.ldd, [binary.path], "list the libraries of \(binary.path)", captured: true), run: run, report: report)
        var copies = [(binary.path, Self.binaryPath)] + (try Self.libraries(fromLDD: listing.output)).map { ($0, $0) }
        if let plotly { copies.append((plotly.path, Self.plotlyPath)) }
        let certificates = "/etc/ssl/certs/ca-certificates.crt"
        if files.fileExists(atPath: certificates) { copies.append((certificates, certificates)) }
        for (source, target) in copies {
            let destination = rootfs.appending(path: String(target.dropFirst()))
            try files.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            // Symbolic links resolved: the image holds the files themselves.
            try files.copyItem(at: URL(fileURLWithPath: source).resolvingSymlinksInPath(), to: destination)
        }
        try files.createDirectory(at: rootfs.appending(path: "etc"), withIntermediateDirectories: true)
        try "firestream:x:10001:10001:Firestream:\(Self.dataPath):/sbin/nologin\n".write(
            to: rootfs.appending(path: "etc/passwd"), atomically: true, encoding: .utf8)
        try "firestream:x:10001:\n".write(to: rootfs.appending(path: "etc/group"), atomically: true, encoding: .utf8)
        // The data folder is copied on its own, owned by the user that writes to it.
        for (url, mode) in [(rootfs.appending(path: "tmp"), 0o1777), (root.appending(path: "data"), 0o750)] {
            try files.createDirectory(at: url, withIntermediateDirectories: true)
            try files.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        }
        try containerfile.write(to: root.appending(path: "Containerfile"), atomically: true, encoding: .utf8)
    }

    var environment: [String] { plotly == nil ? [] : ["FIRESTREAM_PLOTLY_JS=\(Self.plotlyPath)"] }
    static let command = ["up", "--host", "0.0.0.0", "--data-dir", dataPath]

    /// Exec form, as a Containerfile and `buildah config` take it: `["up", "--host", …]`.
    static func execForm(_ words: [String]) -> String { "[" + words.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }

    var containerfile: String {
        """
        FROM scratch
        COPY rootfs/ /
        COPY --chown=\(Self.user) data/ \(Self.dataPath)/
        \(environment.map { "ENV \($0)\n" }.joined())USER \(Self.user)
        WORKDIR \(Self.dataPath)
        EXPOSE 8000 9092
        ENTRYPOINT \(Self.execForm([Self.binaryPath]))
        CMD \(Self.execForm(Self.command))

        """
    }

    /// Stages the files and builds the image with `builder`.
    public func build(with builder: ExternalTool) async throws {
        let root = FileManager.default.temporaryDirectory.appending(path: "firestream-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try await stage(in: root)
        let call = { (arguments: [String], purpose: String, captured: Bool) in
            try await checked(ToolCall(builder, arguments, purpose, captured: captured), run: run, report: report)
        }
        if builder == Self.buildah {
            // Step by step, so that no daemon and no RUN are needed (vfs storage and chroot
            // isolation work unprivileged and in containers).
            let container = "firestream-image-\(UUID().uuidString.prefix(8).lowercased())"
            _ = try await call(["from", "--name", container, "scratch"], "start from an empty image", true)
            let rootfs = root.appending(path: "rootfs").path
            _ = try await call(["copy", container, rootfs + "/", "/"], "copy the files", false)
            let data = root.appending(path: "data").path + "/"
            _ = try await call(["copy", "--chown", Self.user, container, data, Self.dataPath + "/"], "own the data folder", true)
            var settings = ["config", "--user", Self.user, "--workingdir", Self.dataPath, "--port", "8000", "--port", "9092"]
            settings += ["--entrypoint", Self.execForm([Self.binaryPath]), "--cmd", Self.execForm(Self.command)]
            settings += environment.flatMap { ["--env", $0] }
            _ = try await call(settings + [container], "set the entrypoint and user", false)
            _ = try await call(["commit", "--rm", container, tag], "commit \(tag)", false)
        } else {
            _ = try await call(["build", "--tag", tag, "--file", root.appending(path: "Containerfile").path, root.path], "build \(tag)", false)
        }
        report("built \(tag) with \(builder.name): \(binary.lastPathComponent), its libraries\(plotly == nil ? "" : ", Plotly.js"), on scratch")
    }
}
