import FirestreamConfig
import FirestreamDeploy
import FirestreamFormats
import Foundation
import Testing

/// What the bundle holds, what keeps a config from deploying, and how a bundle is written.
@Suite struct BundleTests {
    static let example = Fixtures.root.appending(path: "examples/kubernetes/firestream.json")
    static let stack = Fixtures.root.appending(path: "examples/kubernetes-kafka/firestream.yaml")

    func problems(_ json: String, tokens: Bool = true, target: DeployTarget = .k3s) throws -> [String] {
        let config = try Fixtures.config(json, tokens: tokens)
        return DeployRules.check(config, target: target).filter { $0.severity == .error }.map(\.description)
    }

    @Test func aConfigThatCannotRunInAClusterIsRefusedWithThePlaceAndTheFix() throws {
        let noTokens = try problems("{}", tokens: false)
        #expect(noTokens.count == 1)
        #expect(noTokens.first?.hasPrefix("gateway.tokens: a cluster reaches the gateway over the network") == true)
        #expect(
            try problems("{\"replicaCount\": 2}") == [
                "replicaCount: the embedded log runs in one pod; 2 replicas need a Kafka cluster"
            ])
        // With a Kafka cluster the same replicas are workers.
        #expect(try problems("{\"replicaCount\": 2, \"kafka\": {\"bootstrap\": \"kafka:9092\"}}").isEmpty)
        let spark = try problems(
            "{\"apps\": [{\"name\": \"job\", \"kind\": \"spark\", \"settings\": {\"mainApplicationFile\": \"x.jar\", \"executor\": {\"cores\": 0, \"colour\": 1}}}]}"
        )
        #expect(spark.contains("apps[0].kind: a Spark job needs the Spark operator"))
        #expect(spark.contains("apps[0].settings.image: is required: a non-empty string"))
        #expect(spark.contains("apps[0].settings.executor.cores: must be a whole number (1–64)"))
        #expect(spark.contains("apps[0].settings.executor.colour: is not a setting here"))
        #expect(
            try problems("{\"services\": [{\"service_name\": \"minio\", \"replicaCount\": 2}]}") == [
                "services[0].replicaCount: distributed MinIO needs 4 or more replicas"
            ])
    }

    @Test func rulesPointAtTheLineOfTheConfig() throws {
        let text = "{\n  \"name\": \"shop\",\n  \"replicaCount\": 2\n}\n"
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appending(path: "firestream.json")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let report = ConfigLoader.load(file.path)
        let located = report.locating(DeployRules.check(try #require(report.config), target: .k3s))
        let replicas = try #require(located.first { $0.path?.description == "replicaCount" })
        #expect(replicas.location?.line == 3)
        // A key the file leaves out points at the nearest one it has (the root here).
        #expect(located.first { $0.path?.description == "gateway.tokens" }?.location?.line == 1)
    }

    @Test func theEmbeddedLogRunsAsOneStatefulSetWithAVolume() throws {
        let bundle = try Fixtures.bundle(Fixtures.load(Self.example), .k3s)
        let paths = bundle.files.map(\.path)
        #expect(paths.contains("firestream/statefulset-firestream-demo.yaml"))
        #expect(!paths.contains { $0.contains("deployment-") })
        let statefulSet = try #require(bundle.files.first { $0.path == "firestream/statefulset-firestream-demo.yaml" }).contents
        #expect(statefulSet.contains("storage: 5Gi"))
        #expect(statefulSet.contains("path: /readyz") && statefulSet.contains("path: /healthz"))
        // Contour is in the stack, so the ingress is an HTTPProxy with WebSockets.
        let proxy = try #require(bundle.files.first { $0.path == "firestream/httpproxy-firestream-demo.yaml" }).contents
        #expect(proxy.contains("enableWebsockets: true") && proxy.contains("fqdn: firestream-demo.localhost"))
        // The pods' config listens beyond loopback and tells Kafka clients the Service's name.
        let configMap = try #require(bundle.files.first { $0.path.hasPrefix("firestream/configmap-") }).contents
        #expect(configMap.contains("\"listener\": \"0.0.0.0:9092\""))
        #expect(configMap.contains("\"advertisedHost\": \"firestream-demo.firestream-demo.svc.cluster.local\""))
        #expect(bundle.files.contains { $0.path == "spark/sparkapplication-spark-pi.yaml" })
    }

    @Test func theProjectsDagsShipToAirflowAsAConfigMapMountedInItsPods() throws {
        let config = try Fixtures.load(Fixtures.root.appending(path: "examples/kubernetes-kafka/firestream.yaml"))
        guard case .success(let bundle) = DeployBundle.render(config, target: .helm, dags: ["wiener_positions.py": "print('dag')\n"]) else {
            Issue.record("the bundle did not render")
            return
        }
        let configMap = try #require(bundle.files.first { $0.path.hasPrefix("airflow/configmap-") })
        #expect(configMap.contents.contains("wiener_positions.py: |") && configMap.contents.contains("print('dag')"), "\(configMap.contents)")
        let values = try #require(bundle.files.first { $0.path == "services/values-airflow.yaml" }).contents
        #expect(values.contains("mountPath: /opt/airflow/dags/firestream") && values.contains("name: firestream-stack-airflow-dags"), "\(values)")
        // Without DAGs, no ConfigMap and no volume.
        let plain = try Fixtures.bundle(config, .helm)
        #expect(!plain.files.contains { $0.path.hasPrefix("airflow/") })
        #expect(!(try #require(plain.files.first { $0.path == "services/values-airflow.yaml" }).contents.contains("volumes")))
    }

    @Test func onAKafkaClusterTheGatewayAndWorkersAreDeployments() throws {
        let bundle = try Fixtures.bundle(Fixtures.load(Self.stack), .k3s)
        let workers = try #require(bundle.files.first { $0.path == "firestream/deployment-firestream-stack-worker.yaml" }).contents
        #expect(workers.contains("replicas: 3"))
        #expect(workers.contains("- kafka.firestream-stack.svc.cluster.local:9092"))
        #expect(workers.contains("--health-port"))
        let gateway = try #require(bundle.files.first { $0.path == "firestream/deployment-firestream-stack-gateway.yaml" }).contents
        #expect(gateway.contains("replicas: 1"))
        // Secrets are references: the variable the webhook's signature names comes from the Secret.
        #expect(
            gateway.contains(
                "name: ALERTS_SECRET\n          valueFrom:\n            secretKeyRef:\n              key: ALERTS_SECRET\n              name: firestream-stack-secrets"
            ))
        #expect(!bundle.files.contains { $0.path.contains("statefulset") || $0.contents.contains("kind: Secret\n") })
        // Flux, k3s and helm name the same pinned chart versions.
        for target in [DeployTarget.k3s, .flux, .helm] {
            let text = try Fixtures.bundle(Fixtures.load(Self.stack), target).files.map(\.contents).joined()
            for version in ["32.4.4", "17.0.23", "17.1.0", "21.1.5", "2.5.2", "1.21.0"] { #expect(text.contains(version), "\(target) \(version)") }
        }
    }

    @Test func anEnvironmentLaysItsValuesOverTheConfig() throws {
        let prod = try Fixtures.bundle(Fixtures.load(Self.stack, environment: "prod"), .k3s)
        #expect(prod.plan.namespace == "firestream-prod")
        #expect(prod.files.first { $0.path.hasSuffix("-worker.yaml") && $0.path.contains("deployment") }?.contents.contains("replicas: 6") == true)
        // What the environment leaves alone is the base's.
        #expect(prod.plan.config.services.count == 6)
        let unknown = ConfigLoader.load(Self.stack.path, environment: "staging")
        #expect(unknown.config == nil)
        #expect(unknown.diagnostics.map(\.description).contains("environments: there is no environment \"staging\""))
        #expect(unknown.diagnostics.first?.hint == "declared: prod")
        // Without --env every environment is still checked.
        let (config, diagnostics) = ConfigLoader.parse(
            "{\"environments\": {\"prod\": {\"replicaCount\": \"many\"}}}", format: .json, defaultName: "x")
        #expect(config == nil)
        #expect(diagnostics.first?.path?.description == "replicaCount")
    }

    @Test func renderingIsDeterministicAndAFolderIsReplacedNotMixed() throws {
        let config = try Fixtures.load(Self.stack)
        for target in DeployTarget.allCases {
            #expect(try Fixtures.bundle(config, target).files == (try Fixtures.bundle(config, target).files))
        }
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Fixtures.bundle(config, .helm).write(to: folder)
        #expect(FileManager.default.isExecutableFile(atPath: folder.appending(path: "helm-install.sh").path))
        var smaller = config
        smaller.services.removeAll { $0.serviceName == .airflow }
        try Fixtures.bundle(smaller, .helm).write(to: folder)
        #expect(!FileManager.default.fileExists(atPath: folder.appending(path: "services/values-airflow.yaml").path))
        #expect(FileManager.default.fileExists(atPath: folder.appending(path: "services/values-kafka.yaml").path))
        // A folder with someone else's files is left alone.
        let other = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        try "notes".write(to: other.appending(path: "notes.txt"), atomically: true, encoding: .utf8)
        #expect(throws: DeployWriteError.self) { try Fixtures.bundle(config, .k3s).write(to: other) }
    }
}

/// The configs in docs/deploy.md are real: each validates and renders.
@Suite struct DeployDocumentationTests {
    @Test func everyConfigInTheDeployGuideRenders() throws {
        let text = try String(contentsOf: Fixtures.root.appending(path: "docs/deploy.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```json\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
        #expect(blocks.count >= 2)
        for block in blocks {
            let (config, diagnostics) = ConfigLoader.parse(block, format: .json, defaultName: "docs")
            let parsed = try #require(config, "\(diagnostics)\n\(block)")
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            _ = try Fixtures.bundle(parsed, .k3s)
        }
    }
}
