import FirestreamConfig
import FirestreamDeploy
import Foundation
import Testing

/// Every bundle the examples render passes the published schemas of what will read it.
@Suite struct SchemaTests {
    /// Each example config (a token added where it has none) × each target, plus the
    /// `environments` of each, rendered into one folder.
    static func renderAll(into folder: URL) throws -> [(label: String, bundle: DeployBundle)] {
        var bundles: [(String, DeployBundle)] = []
        for url in Fixtures.exampleConfigs {
            var config = try Fixtures.load(url)
            if config.gateway.tokens.isEmpty {
                #expect(throws: Fixtures.RenderFailed.self) { try Fixtures.bundle(config, .k3s) }
                config.gateway.tokens = try Fixtures.config("{}").gateway.tokens
            }
            let project = url.deletingLastPathComponent().lastPathComponent
            for target in DeployTarget.allCases {
                bundles.append(("\(project)-\(target.rawValue)", try Fixtures.bundle(config, target)))
            }
            // With Airflow in the stack, the project's DAGs too (a ConfigMap and the chart's volumes).
            if config.services.contains(where: { $0.serviceName == .airflow && $0.enabled }) {
                let dags = ["wiener_positions.py": "print('a DAG')\n", "reports.py": "print('another')\n"]
                for target in DeployTarget.allCases {
                    switch DeployBundle.render(config, target: target, dags: dags) {
                    case .success(let bundle): bundles.append(("\(project)-dags-\(target.rawValue)", bundle))
                    case .failure(let problems): Issue.record("\(problems.diagnostics)")
                    }
                }
            }
            let text = try String(contentsOf: url, encoding: .utf8)
            for environment in ["prod"] where text.contains("environments") {
                bundles.append(("\(project)-\(environment)", try Fixtures.bundle(Fixtures.load(url, environment: environment), .flux)))
            }
        }
        for (label, bundle) in bundles { try bundle.write(to: folder.appending(path: label)) }
        return bundles
    }

    @Test func everyRenderedBundlePassesTheSchemaKit() async throws {
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundles = try Self.renderAll(into: folder)
        #expect(bundles.count >= 15)
        let checked = bundles.flatMap { label, bundle in
            bundle.files.filter { [.manifest, .values, .k3dConfig].contains($0.role) }.map {
                folder.appending(path: label).appending(path: $0.path).path
            }
        }
        guard let kit = Fixtures.schemaKit else {
            withKnownIssue("the schema kit (../shared/schemas) is not beside this checkout; set FIRESTREAM_SCHEMAS") {
                Issue.record("\(checked.count) rendered files were not checked against the schemas")
            }
            return
        }
        let (status, output) = try await Fixtures.run("bash", [kit.appending(path: "validate.sh").path] + checked)
        #expect(status == 0, "\(output)")
        // One line per problem, then "N documents, N valid, 0 invalid".
        let summary = try #require(output.split(separator: "\n").last)
        #expect(summary.hasSuffix(", 0 invalid"), "\(output)")
        #expect(!output.contains("not checked"), "\(output)")
    }

    @Test func theSchemaKitRejectsABrokenBundle() async throws {
        guard let kit = Fixtures.schemaKit else { return }
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundle = try Fixtures.bundle(Fixtures.load(Fixtures.root.appending(path: "examples/kubernetes/firestream.json")), .k3s)
        let statefulSet = try #require(bundle.files.first { $0.path.hasPrefix("firestream/statefulset-") })
        let broken = folder.appending(path: "statefulset.yaml")
        try statefulSet.contents.replacingOccurrences(of: "  replicas: 1", with: "  replicas: one").write(
            to: broken, atomically: true, encoding: .utf8)
        let (status, output) = try await Fixtures.run("bash", [kit.appending(path: "validate.sh").path, broken.path])
        #expect(status == 1)
        #expect(output.contains("spec.replicas"), "\(output)")
    }

    @Test func cloudInitAcceptsTheVMUserData() async throws {
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        for url in Fixtures.exampleConfigs {
            var config = try Fixtures.load(url)
            config.gateway.tokens = try Fixtures.config("{}").gateway.tokens
            let file = try #require(try Fixtures.bundle(config, .vm).files.first { $0.role == .cloudInit })
            #expect(file.contents.hasPrefix("#cloud-config\n"))
            let path = folder.appending(path: "\(url.deletingLastPathComponent().lastPathComponent).yaml")
            try file.contents.write(to: path, atomically: true, encoding: .utf8)
            let (status, output) = try await Fixtures.run("cloud-init", ["schema", "--config-file", path.path])
            #expect(status == 0, "\(url.path): \(output)")
        }
        // The check can fail: a misspelt module is refused.
        let bad = folder.appending(path: "bad.yaml")
        try "#cloud-config\nwrite_files:\n  - path: /x\n    permissions: 600\n    contnt: x\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(try await Fixtures.run("cloud-init", ["schema", "--config-file", bad.path]).status != 0)
    }
}
