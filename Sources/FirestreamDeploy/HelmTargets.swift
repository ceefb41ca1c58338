import FirestreamConfig
import FirestreamJSON

/// The stack's services in the form each target installs them: k3s HelmChart resources, Flux
/// HelmRepository and HelmRelease resources, or values files and a `helm` script.
extension DeployPlan {
    var releases: [(ServiceConfig, ChartRelease)] { enabledServices.map { ($0, ChartRelease.of($0.serviceName)) } }

    /// The chart sources the releases need, one per repository name, sorted by it.
    var chartSources: [ChartRelease] {
        var seen: Set<String> = []
        return releases.map(\.1).filter { seen.insert($0.repositoryName).inserted }.sorted { $0.repositoryName < $1.repositoryName }
    }

    /// k3s's helm-controller (in kube-system, where it runs its install jobs) installs each chart
    /// into the project's namespace; no helm binary involved.
    func helmCharts() -> [BundleFile] {
        releases.map { service, release in
            let spec = HelmChartSpec(
                chart: release.isOCI ? release.helmReference : release.chart, repo: release.isOCI ? nil : release.repository,
                version: release.version, targetNamespace: namespace, createNamespace: true,
                valuesContent: YAMLText.document(FreeForm(values(of: service))))
            let object = KubeObject(
                "helm.cattle.io/v1", "HelmChart", ObjectMeta(name: "\(name)-\(release.releaseName)", namespace: "kube-system"), spec: spec)
            return BundleFile(
                "services/helmchart-\(release.releaseName).yaml", .manifest,
                YAMLText.file("\(service.serviceName.summary): chart \(release.chart) \(release.version), installed by k3s.", [object]),
                kind: "HelmChart")
        }
    }

    /// Flux: one HelmRepository per chart source, one HelmRelease per service.
    func fluxReleases() -> [BundleFile] {
        let sources = chartSources.map { source in
            let spec = HelmRepositorySpec(url: source.repository, type: source.isOCI ? "oci" : nil)
            let object = KubeObject(
                "source.toolkit.fluxcd.io/v1", "HelmRepository", ObjectMeta(name: source.repositoryName, namespace: namespace), spec: spec)
            return BundleFile(
                "services/helmrepository-\(source.repositoryName).yaml", .manifest, YAMLText.file("Where Flux fetches charts from.", [object]),
                kind: "HelmRepository")
        }
        return sources
            + releases.map { service, release in
                let chart = HelmReleaseSpec.Chart(
                    spec: HelmReleaseSpec.ChartSpec(
                        chart: release.chart, version: release.version, sourceRef: ["kind": "HelmRepository", "name": release.repositoryName]))
                let spec = HelmReleaseSpec(releaseName: release.releaseName, chart: chart, values: FreeForm(values(of: service)))
                let object = KubeObject(
                    "helm.toolkit.fluxcd.io/v2", "HelmRelease", ObjectMeta(name: release.releaseName, namespace: namespace), spec: spec)
                return BundleFile(
                    "services/helmrelease-\(release.releaseName).yaml", .manifest,
                    YAMLText.file("\(service.serviceName.summary): chart \(release.chart) \(release.version), installed by Flux.", [object]),
                    kind: "HelmRelease")
            }
    }

    /// `--target helm`: a values file per service and a script of pinned installs.
    func helmValuesAndScript() -> [BundleFile] {
        let files = releases.map { service, release in
            BundleFile(
                release.valuesFile, .values,
                "# chart: \(release.catalogID)@\(release.version)\n# \(service.serviceName.summary)\n"
                    + YAMLText.document(FreeForm(values(of: service))))
        }
        var script = """
            #!/bin/sh
            # Installs the services of project \(name) with pinned chart versions, then applies
            # Firestream's own manifests. Needs helm and kubectl; run it from anywhere.
            set -eu
            cd "$(dirname "$0")"
            kubectl apply -f namespace.yaml

            """
        for source in chartSources where !source.isOCI {
            script += (["helm"] + source.repositoryAddArguments).joined(separator: " ") + "\n"
        }
        for (_, release) in releases {
            let arguments = release.upgradeArguments(namespace: namespace, values: release.valuesFile, createNamespace: false)
            // Up to the version on the first line, the rest on a continuation line.
            script += (["helm"] + arguments.prefix(6)).joined(separator: " ") + " \\\n  " + arguments.dropFirst(6).joined(separator: " ") + "\n"
        }
        script += "kubectl apply -k .\n"
        return files + [BundleFile("helm-install.sh", .script, script)]
    }
}

extension ChartRelease {
    /// Where `--target helm` writes the release's values, relative to the bundle.
    var valuesFile: String { "services/values-\(chart).yaml" }

    /// `helm repo add` for a classic repository (OCI charts need none).
    var repositoryAddArguments: [String] { ["repo", "add", "--force-update", repositoryName, repository] }

    /// `helm upgrade --install` of this release, pinned, waiting for it to be ready.
    func upgradeArguments(namespace: String, values: String, createNamespace: Bool) -> [String] {
        ["upgrade", "--install", releaseName, helmReference, "--version", version, "--namespace", namespace]
            + (createNamespace ? ["--create-namespace"] : []) + ["--values", values, "--wait", "--timeout", "15m"]
    }

    /// The chart's id in the schema kit's catalog (`bitnami/kafka`).
    var catalogID: String {
        switch kind {
        case .spark: "spark-operator/spark-operator"
        case .airflow: "apache-airflow/airflow"
        default: "bitnami/\(chart)"
        }
    }
}

struct HelmChartSpec: Encodable, Sendable {
    var chart: String
    var repo: String?
    var version: String
    var targetNamespace: String
    var createNamespace: Bool
    var valuesContent: String
}

struct HelmRepositorySpec: Encodable, Sendable {
    var url: String
    var type: String?
    var interval = "1h"
}

struct HelmReleaseSpec: Encodable, Sendable {
    struct ChartSpec: Encodable, Sendable {
        var chart: String
        var version: String
        var sourceRef: [String: String]
        var interval = "1h"
    }
    struct Chart: Encodable, Sendable {
        var spec: ChartSpec
    }
    var releaseName: String
    var chart: Chart
    var interval = "10m"
    var install = ["remediation": ["retries": 3]]
    var values: FreeForm
}
