import FirestreamTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `firestream image build` with Debian's buildah (no daemon: vfs storage, chroot isolation):
/// the image is built from this binary, then started, and its gateway answers.
extension KafkaClusterTests {
    @Suite struct ImageBuildTests {
        @Test func theImageRunsFirestreamAsAnUnprivilegedUser() async throws {
            let scratch = TemporaryDirectory("fs-image")
            let storage = scratch.url.appending(path: "storage")
            // A storage of this test's own, and the open-file limit the log needs (buildah's default is 1024).
            try scratch.write(
                "storage.conf", "[storage]\ndriver = \"vfs\"\ngraphroot = \"\(storage.path)/graph\"\nrunroot = \"\(storage.path)/run\"\n")
            try scratch.write("containers.conf", "[containers]\ndefault_ulimits = [\"nofile=16384:16384\"]\n")
            var environment = ProcessInfo.processInfo.environment
            environment["CONTAINERS_STORAGE_CONF"] = scratch.url.appending(path: "storage.conf").path
            environment["CONTAINERS_CONF"] = scratch.url.appending(path: "containers.conf").path
            environment["BUILDAH_ISOLATION"] = "chroot"
            let tag = "localhost/firestream-test:\(UUID().uuidString.prefix(8).lowercased())"
            let built = try await FirestreamProcess.run(
                ["image", "build", "--builder", "buildah", "--tag", tag], in: scratch.url, environment: environment)
            #expect(built.status == 0, "\(built.stdout)\n\(built.stderr)")
            #expect(built.stdout.contains("built \(tag) with buildah: firestream, its libraries, Plotly.js, on scratch"), "\(built.stdout)")

            let buildah = URL(fileURLWithPath: "/usr/bin/env")
            func buildahRun(_ arguments: [String]) async throws -> String {
                let outcome = try await FirestreamProcess.run(
                    ["buildah"] + arguments, in: scratch.url, executable: buildah, environment: environment)
                #expect(outcome.status == 0, "buildah \(arguments): \(outcome.stderr)")
                return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let inspect = try await buildahRun(["inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}", tag])
            #expect(inspect == "10001:10001 [/usr/local/bin/firestream]")
            let container = try await buildahRun(["from", tag])
            #expect(try await buildahRun(["run", container, "--", "/usr/local/bin/firestream", "--version"]) == "0.1.0")
            #expect(try await buildahRun(["run", container, "--", "/usr/local/bin/firestream", "validate", "--help"]).contains("USAGE"))

            // `up` in the image, on this machine's network (chroot isolation shares it).
            let port = try freePort()
            let up = Process()
            up.executableURL = buildah
            up.arguments = [
                "buildah", "run", container, "--", "/usr/local/bin/firestream", "up", "--port", "\(port)", "--no-kafka", "--status-interval", "0",
            ]
            up.environment = environment
            let log = scratch.url.appending(path: "up.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            up.standardOutput = try FileHandle(forWritingTo: log)
            up.standardError = up.standardOutput
            try up.run()
            // Stopped before `scratch` (the container's storage) goes, whether the checks pass or throw.
            func stopContainer() async {
                // buildah leaves the container's process running when it is stopped itself.
                _ = try? await FirestreamProcess.run(["pkill", "-f", "firestream up --port \(port) "], in: scratch.url, executable: buildah)
                up.terminate()
                await up.exited()
            }
            do {
                var health = ""
                let deadline = ContinuousClock.now + .seconds(60)
                while health != "ok", ContinuousClock.now < deadline, up.isRunning {
                    health =
                        (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!)).map {
                            String(decoding: $0.0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                        } ?? ""
                    if health != "ok" { try await Task.sleep(for: .milliseconds(200)) }
                }
                let printed = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                #expect(health == "ok", "\(printed)")
                let (plotly, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/plotly.min.js")!)
                #expect((response as? HTTPURLResponse)?.statusCode == 200)
                #expect(plotly.count > 1_000_000)
                #expect(try String(contentsOf: log, encoding: .utf8).contains("data:   /var/lib/firestream/.firestream"))
            } catch {
                await stopContainer()
                throw error
            }
            await stopContainer()
        }
    }
}
