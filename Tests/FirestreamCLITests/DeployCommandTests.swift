import FirestreamTesting
import Foundation
import Testing

/// `deploy` and `cluster` against the kubectl/k3d/helm/docker command-line contract: stubs on
/// PATH record every call (no cluster can run here); docs/deploy.md and
/// scripts/test-k3d-e2e run the same flow against real k3d.
@Suite struct DeployCommandTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "examples/kubernetes/firestream.json")

    /// A project folder with the Kubernetes example, and stubs of the four programs.
    struct Stubs {
        let project = TemporaryDirectory("fs-deploy")
        var bin: URL { project.url.appending(path: "bin") }
        var log: URL { project.url.appending(path: "calls.log") }

        init() throws {
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            try project.write("firestream.json", String(contentsOf: DeployCommandTests.example, encoding: .utf8))
            let script = """
                #!/bin/sh
                tool=$(basename "$0")
                printf '%s' "$tool" >> "$STUB_LOG"; for a in "$@"; do printf ' %s' "$a" >> "$STUB_LOG"; done; echo >> "$STUB_LOG"
                case "$tool $*" in
                  *" get crd "*) for c in $STUB_CRDS; do case "$* " in *" $c "*) echo "customresourcedefinition/$c"; exit 0;; esac; done
                                 echo "Error from server (NotFound)" >&2; exit 1;;
                  "k3d cluster list "*) [ -n "$STUB_CLUSTER" ] || exit 1;;
                  "docker image inspect "*) [ -n "$STUB_IMAGE" ] || exit 1;;
                esac
                exit 0
                """
            for tool in ["kubectl", "k3d", "helm", "docker"] {
                let url = bin.appending(path: tool)
                try script.write(to: url, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
            }
        }

        /// Runs firestream in the project with the stubs first on PATH; the calls they saw.
        func run(_ arguments: [String], crds: [String] = [], cluster: Bool = false, image: Bool = false, tools: [String]? = nil) async throws -> (
            FirestreamProcess.Outcome, [String]
        ) {
            try? FileManager.default.removeItem(at: log)
            var path = bin.path + ":/usr/bin:/bin"
            if let tools {
                // Only these stubs: the others are missing.
                let only = project.url.appending(path: "only-\(tools.joined(separator: "-"))")
                try? FileManager.default.createDirectory(at: only, withIntermediateDirectories: true)
                for tool in tools { try? FileManager.default.copyItem(at: bin.appending(path: tool), to: only.appending(path: tool)) }
                path = only.path + ":/nonexistent"
            }
            let environment = [
                "PATH": path, "STUB_LOG": log.path, "STUB_CRDS": crds.joined(separator: " "), "STUB_CLUSTER": cluster ? "1" : "",
                "STUB_IMAGE": image ? "1" : "", "HOME": project.url.path,
            ]
            let outcome = try await FirestreamProcess.run(arguments, in: project.url, environment: environment)
            let calls = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
            return (outcome, calls.map { $0.replacingOccurrences(of: project.url.path + "/", with: "") })
        }
    }

    static let allDefinitions = ["helmcharts.helm.cattle.io", "httpproxies.projectcontour.io", "sparkapplications.sparkoperator.k8s.io"]

    @Test func clusterUpCreatesTheClusterLoadsTheImageAndAppliesInOrder() async throws {
        let stubs = try Stubs()
        let (outcome, calls) = try await stubs.run(["cluster", "up"], crds: Self.allDefinitions, image: true)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let k = "kubectl --context k3d-firestream-demo"
        let dir = "deploy/k3d"
        let firstApply =
            ["namespace.yaml"]
            + [
                "serviceaccount-firestream-demo", "configmap-firestream-demo-config", "statefulset-firestream-demo",
                "service-firestream-demo-headless",
                "service-firestream-demo", "poddisruptionbudget-firestream-demo-server", "networkpolicy-firestream-demo-server",
            ].map { "firestream/\($0).yaml" } + ["services/helmchart-contour.yaml", "services/helmchart-spark-operator.yaml"]
        #expect(
            calls == [
                "k3d cluster list firestream-demo --output json",
                "k3d cluster create --config \(dir)/k3d-cluster.yaml",
                "docker image inspect firestream:0.1.0 --format {{.Id}}",
                "k3d image import firestream:0.1.0 --cluster firestream-demo",
                "\(k) get crd helmcharts.helm.cattle.io -o name",
                "\(k) apply " + firstApply.map { "-f \(dir)/\($0)" }.joined(separator: " "),
                "\(k) get crd httpproxies.projectcontour.io -o name",
                "\(k) wait --for condition=established --timeout 120s crd/httpproxies.projectcontour.io",
                "\(k) get crd sparkapplications.sparkoperator.k8s.io -o name",
                "\(k) wait --for condition=established --timeout 120s crd/sparkapplications.sparkoperator.k8s.io",
                "\(k) apply -f \(dir)/firestream/httpproxy-firestream-demo.yaml -f \(dir)/spark/sparkapplication-spark-pi.yaml",
                "\(k) rollout status statefulset/firestream-demo --namespace firestream-demo --timeout 15m",
            ])
        // The files it named are the ones it wrote, and k3d's config is the rendered one.
        #expect(try stubs.project.read("deploy/k3d/k3d-cluster.yaml").contains("127.0.0.1:8000:30800"))
        #expect(outcome.stdout.contains("gateway: http://localhost:8000   kubectl context: k3d-firestream-demo"))
    }

    @Test func clusterUpReusesAClusterAndDownAndStatusNameIt() async throws {
        let stubs = try Stubs()
        let (up, calls) = try await stubs.run(["cluster", "up"], crds: Self.allDefinitions, cluster: true)
        #expect(up.status == 0, "\(up.stderr)")
        #expect(!calls.contains { $0.hasPrefix("k3d cluster create") || $0.hasPrefix("k3d image import") })
        #expect(up.stdout.contains("note: firestream:0.1.0 is not in the local Docker"))
        let (down, downCalls) = try await stubs.run(["cluster", "down"])
        #expect(down.status == 0)
        #expect(downCalls == ["k3d cluster delete firestream-demo"])
        let (missing, _) = try await stubs.run(["cluster", "status"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("error: there is no cluster firestream-demo: `firestream cluster up` creates it"))
        let (status, statusCalls) = try await stubs.run(["cluster", "status"], cluster: true)
        #expect(status.status == 0)
        #expect(
            statusCalls == [
                "k3d cluster list firestream-demo --output json", "k3d cluster list firestream-demo",
                "kubectl --context k3d-firestream-demo get statefulsets,deployments,pods,services,persistentvolumeclaims --namespace firestream-demo -o wide",
            ])
    }

    @Test func applyToAClusterWithoutK3sSaysWhatToRenderInstead() async throws {
        let stubs = try Stubs()
        let (refused, calls) = try await stubs.run(["deploy", "apply", "--context", "gke_prod"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the cluster has no helmcharts.helm.cattle.io: HelmChart resources need k3s's helm-controller"))
        #expect(calls == ["kubectl --context gke_prod get crd helmcharts.helm.cattle.io -o name"])
        // With helm, the charts are installed first, pinned, into the project's namespace.
        let (applied, helmCalls) = try await stubs.run(["deploy", "apply", "--context", "gke_prod", "--target", "helm"], crds: Self.allDefinitions)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(
            Array(helmCalls.prefix(4)) == [
                "helm --kube-context gke_prod upgrade --install contour oci://registry-1.docker.io/bitnamicharts/contour --version 21.1.5 --namespace firestream-demo --create-namespace --values deploy/helm/services/values-contour.yaml --wait --timeout 15m",
                "helm repo add --force-update spark-operator https://kubeflow.github.io/spark-operator",
                "helm --kube-context gke_prod upgrade --install spark-operator spark-operator/spark-operator --version 2.5.2 --namespace firestream-demo --create-namespace --values deploy/helm/services/values-spark-operator.yaml --wait --timeout 15m",
                "kubectl --context gke_prod apply -f deploy/helm/namespace.yaml -f deploy/helm/firestream/serviceaccount-firestream-demo.yaml -f deploy/helm/firestream/configmap-firestream-demo-config.yaml -f deploy/helm/firestream/statefulset-firestream-demo.yaml -f deploy/helm/firestream/service-firestream-demo-headless.yaml -f deploy/helm/firestream/service-firestream-demo.yaml -f deploy/helm/firestream/poddisruptionbudget-firestream-demo-server.yaml -f deploy/helm/firestream/networkpolicy-firestream-demo-server.yaml",
            ])
        #expect(helmCalls.last == "kubectl --context gke_prod rollout status statefulset/firestream-demo --namespace firestream-demo --timeout 15m")
    }

    @Test func deleteAsksFirstAndKeepsTheVolumes() async throws {
        let stubs = try Stubs()
        let (refused, none) = try await stubs.run(["deploy", "delete", "--target", "k3s"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("deleting needs --yes when not on a terminal"))
        #expect(none.isEmpty)
        let (deleted, calls) = try await stubs.run(["deploy", "delete", "--target", "k3s", "--yes"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(calls.count == 1)
        // Objects that need the charts' definitions go first; the namespace stays.
        #expect(
            calls.first?.hasPrefix(
                "kubectl delete --ignore-not-found --wait -f deploy/k3s/firestream/httpproxy-firestream-demo.yaml -f deploy/k3s/spark/") == true)
        #expect(calls.first?.contains("namespace.yaml") == false)
        #expect(deleted.stdout.contains("kept: namespace firestream-demo and its PersistentVolumeClaims"))
    }

    @Test func aMissingProgramIsNamedWithItsInstallSteps() async throws {
        let stubs = try Stubs()
        let (outcome, calls) = try await stubs.run(["cluster", "up"], tools: ["kubectl"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("error: k3d is not on PATH. Install it, then run this again:"))
        #expect(outcome.stderr.contains("Linux:  curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash"))
        #expect(outcome.stderr.contains("macOS:  brew install k3d"))
        #expect(calls.isEmpty)
    }

    @Test func validateWithDeployChecksTheClusterRulesToo() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", "{\n  \"name\": \"shop\",\n  \"replicaCount\": 2\n}\n")
        let plain = try await FirestreamProcess.run(["validate"], in: scratch.url)
        #expect(plain.status == 0, "\(plain.stderr)")
        let strict = try await FirestreamProcess.run(["validate", "--deploy"], in: scratch.url)
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("firestream.json:3:19: error: replicaCount: the embedded log runs in one pod"))
        #expect(strict.stderr.contains("firestream.json:1:1: error: gateway.tokens: a cluster reaches the gateway"))
        #expect(strict.stderr.contains("firestream.json: 2 errors"))
    }

    @Test func renderRefusesAConfigThatCannotRunInAClusterWithItsPosition() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", "{\n  \"name\": \"shop\",\n  \"replicaCount\": 2\n}\n")
        let refused = try await FirestreamProcess.run(["deploy", "render"], in: scratch.url)
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("firestream.json:3:19: error: replicaCount: the embedded log runs in one pod; 2 replicas need a Kafka cluster"))
        #expect(refused.stderr.contains("firestream.json: cannot deploy: 2 problem(s) above"))
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appending(path: "deploy").path))
        let stubs = try Stubs()
        let rendered = try await FirestreamProcess.run(["deploy", "render", "--target", "vm"], in: stubs.project.url)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stdout.hasPrefix("wrote 14 files to deploy/vm/ (target vm, namespace firestream-demo)"))
        #expect(try stubs.project.read("deploy/vm/cloud-init.yaml").hasPrefix("#cloud-config\n"))
    }

    /// With Airflow in the stack, `deploy render` ships the project's dags/*.py in a ConfigMap.
    @Test func renderShipsTheProjectsDagsToAirflow() async throws {
        let scratch = TemporaryDirectory()
        let example = Self.example.deletingLastPathComponent().deletingLastPathComponent().appending(path: "kubernetes-kafka/firestream.yaml")
        try scratch.write("firestream.yaml", String(contentsOf: example, encoding: .utf8))
        try FileManager.default.createDirectory(at: scratch.url.appending(path: "dags"), withIntermediateDirectories: true)
        try scratch.write("dags/positions.py", "print('positions')\n")
        try scratch.write("dags/not a key.py", "print('skipped')\n")
        try scratch.write("dags/notes.txt", "not a DAG\n")
        let rendered = try await FirestreamProcess.run(["deploy", "render", "--target", "helm", "--out", "out"], in: scratch.url)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stderr.contains("note: dags/not a key.py is not shipped to Airflow"), "\(rendered.stderr)")
        let configMap = try scratch.read("out/airflow/configmap-firestream-stack-airflow-dags.yaml")
        #expect(configMap.contains("positions.py: |") && !configMap.contains("skipped") && !configMap.contains("notes.txt"), "\(configMap)")
        #expect(try scratch.read("out/services/values-airflow.yaml").contains("mountPath: /opt/airflow/dags/firestream"))
    }
}
