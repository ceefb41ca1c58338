import ArgumentParser
import FirestreamConfig
import FirestreamDeploy
import FirestreamGateway
import Foundation

/// `firestream image build`: Firestream's container image.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Build Firestream's container image.", subcommands: [Build.self])

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Package this firestream binary as a container image (docker, podman or buildah).",
            discussion: """
                The image holds the binary, the shared libraries it links (as ldd lists them),
                CA certificates and Plotly.js for the dashboard, on an empty base (FROM
                scratch); it runs as user 10001 with `firestream up --host 0.0.0.0 --data-dir
                /var/lib/firestream` by default. The tag is the config's image.repository and
                image.tag, which the rendered Kubernetes bundle uses. Build a release binary
                first for a small image (swift build -c release). The repository's Dockerfile
                builds the same image from source, for a registry.

                buildah runs without a daemon; in a container or as a user without overlay
                support set STORAGE_DRIVER=vfs and BUILDAH_ISOLATION=chroot.

                Examples:
                  swift build -c release && .build/release/firestream image build
                  firestream image build --tag ghcr.io/me/firestream:0.1.0 --builder podman
                """
        )

        @Option(name: .long, help: "The project config file or directory, for the tag (default: the current directory).")
        var config: String?

        @Option(help: "The image's name and tag (default: image.repository:image.tag of the config, else firestream:\(FirestreamVersion.current)).")
        var tag: String?

        @Option(help: "The firestream binary to package (default: this one).")
        var binary: String?

        @Option(help: "docker, podman or buildah (default: the first of them on PATH).")
        var builder: String?

        @Option(help: "Plotly.js to include (default: the Python package plotly's, when installed).")
        var plotlyJs: String?

        func run() async throws {
            let image = resolvedTag()
            let path = ProcessInfo.processInfo.environment["PATH"]
            let executable =
                binary.map { ConfigLoader.resolve($0, against: ConfigLoader.currentDirectory) }
                ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            let plotly: URL?
            switch PlotlyAsset.locate(explicit: plotlyJs) {
            case .file(let file): plotly = URL(fileURLWithPath: file)
            case .missing(let why):
                if plotlyJs != nil { throw ValidationError(why) }
                print("note: the image's dashboard will be off. \(why)")
                plotly = nil
            }
            try await drive {
                let tool: ExternalTool
                switch builder {
                case nil: tool = try ImageBuilder.builder(path: path)
                case "docker": tool = .docker
                case "podman": tool = ImageBuilder.podman
                case "buildah": tool = ImageBuilder.buildah
                case let other?: throw ValidationError("--builder \(other): choose docker, podman or buildah")
                }
                try await ImageBuilder(tag: image, binary: executable, plotly: plotly, run: ToolProcess.run, report: ToolProcess.report).build(
                    with: tool)
            }
        }

        private func resolvedTag() -> String {
            if let tag { return tag }
            let report = ConfigLoader.load(config)
            guard let project = report.config else { return "firestream:\(FirestreamVersion.current)" }
            return "\(project.image.repository):\(project.image.tag)"
        }
    }
}
