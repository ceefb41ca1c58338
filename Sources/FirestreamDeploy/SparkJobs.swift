import FirestreamConfig
import FirestreamJSON

/// Apps of kind `spark`: batch jobs the Spark operator runs, rendered as SparkApplications.
///
///     {"name": "daily-report", "kind": "spark", "settings": {"image": "apache/spark:4.0.0",
///      "mainApplicationFile": "local:///opt/jobs/report.py", "arguments": ["--day", "yesterday"],
///      "driver": {"cores": 1, "memory": "1g"}, "executor": {"instances": 2, "cores": 1, "memory": "2g"}}}
struct SparkJob: Sendable {
    static let keys = ["image", "mainApplicationFile", "mainClass", "type", "sparkVersion", "arguments", "driver", "executor"]
    static let types = ["Python", "Scala", "Java", "R"]

    var image = ""
    var mainApplicationFile = ""
    var mainClass: String?
    var type = "Scala"
    var sparkVersion = "4.0.0"
    var arguments: [String] = []
    var driver = SparkPod(cores: 1, memory: "1g", instances: nil)
    var executor = SparkPod(cores: 1, memory: "1g", instances: 1)

    /// Reads an app's settings; the problems name `apps[i].settings.…`.
    static func parse(_ app: AppConfig, at path: ConfigPath) -> (SparkJob?, [Diagnostic]) {
        var job = SparkJob()
        var problems: [Diagnostic] = []
        let settings = path / "settings"
        func problem(_ where: ConfigPath, _ message: String, hint: String? = nil) {
            problems.append(Diagnostic(.error, path: `where`, at: nil, message, hint: hint))
        }
        guard case .object(let members) = app.settings else {
            problem(settings, "must be an object with image and mainApplicationFile")
            return (nil, problems)
        }
        let fields = Dictionary(members, uniquingKeysWith: { _, last in last })
        for key in fields.keys.sorted() where !keys.contains(key) {
            problem(settings / key, "is not a Spark job setting", hint: "settings are \(keys.joined(separator: ", "))")
        }
        for key in ["image", "mainApplicationFile"] {
            guard case .string(let text)? = fields[key], !text.isEmpty else {
                problem(
                    settings / key, "is required: a non-empty string",
                    hint: key == "image" ? "e.g. apache/spark:4.0.0" : "e.g. local:///opt/spark/jobs/report.py")
                continue
            }
            if key == "image" { job.image = text } else { job.mainApplicationFile = text }
        }
        job.type = job.mainApplicationFile.hasSuffix(".py") ? "Python" : "Scala"
        for key in ["mainClass", "type", "sparkVersion"] {
            guard let value = fields[key] else { continue }
            guard case .string(let text) = value, !text.isEmpty else {
                problem(settings / key, "must be a non-empty string")
                continue
            }
            switch key {
            case "mainClass": job.mainClass = text
            case "sparkVersion": job.sparkVersion = text
            default:
                if types.contains(text) {
                    job.type = text
                } else {
                    problem(settings / key, "\"\(text)\" is not a Spark application type", hint: types.joined(separator: ", "))
                }
            }
        }
        if let value = fields["arguments"] {
            if case .array(let items) = value, items.allSatisfy({ if case .string = $0 { true } else { false } }) {
                job.arguments = items.compactMap { if case .string(let text) = $0 { text } else { nil } }
            } else {
                problem(settings / "arguments", "must be an array of strings")
            }
        }
        if ["Scala", "Java"].contains(job.type), job.mainClass == nil, problems.isEmpty {
            problem(settings / "mainClass", "is required for a \(job.type) job", hint: "the class with main(), e.g. org.example.Report")
        }
        if let value = fields["driver"] { job.driver = SparkPod.parse(value, at: settings / "driver", defaults: job.driver, into: &problems) }
        if let value = fields["executor"] { job.executor = SparkPod.parse(value, at: settings / "executor", defaults: job.executor, into: &problems) }
        return (problems.isEmpty ? job : nil, problems)
    }
}

/// A driver's or executors' size, as the Spark operator reads it.
struct SparkPod: Encodable, Sendable {
    var cores: Int
    var memory: String
    var instances: Int?
    var serviceAccount: String?

    static func parse(_ value: JSONValue, at path: ConfigPath, defaults: SparkPod, into problems: inout [Diagnostic]) -> SparkPod {
        var pod = defaults
        guard case .object(let members) = value else {
            problems.append(
                Diagnostic(.error, path: path, at: nil, "must be an object (cores, memory\(defaults.instances == nil ? "" : ", instances"))"))
            return pod
        }
        let allowed = defaults.instances == nil ? ["cores", "memory"] : ["cores", "memory", "instances"]
        for (key, item) in members {
            switch (key, item) {
            case ("cores", .number(let text)) where Int(text).map({ (1...64).contains($0) }) == true: pod.cores = Int(text)!
            case ("instances", .number(let text)) where allowed.contains(key) && Int(text).map({ (1...1000).contains($0) }) == true:
                pod.instances = Int(text)!
            case ("memory", .string(let text)) where text.wholeMatch(of: /[1-9][0-9]*[kmgt]?/) != nil: pod.memory = text
            case _ where !allowed.contains(key):
                problems.append(
                    Diagnostic(.error, path: path / key, at: nil, "is not a setting here", hint: "settings are \(allowed.joined(separator: ", "))"))
            case ("memory", _):
                problems.append(Diagnostic(.error, path: path / key, at: nil, "must be JVM memory such as \"512m\" or \"2g\""))
            default:
                problems.append(Diagnostic(.error, path: path / key, at: nil, "must be a whole number (\(key == "cores" ? "1–64" : "1–1000"))"))
            }
        }
        return pod
    }
}

enum SparkJobs {
    /// The service account the operator's chart creates for jobs in the project's namespace.
    static let serviceAccount = "spark"
}

extension DeployPlan {
    func sparkApplications() -> [BundleFile] {
        config.apps.enumerated().compactMap { index, app in
            guard app.enabled, !app.runsInFirestream, let job = SparkJob.parse(app, at: ConfigPath.root / "apps" / index).0 else { return nil }
            var driver = job.driver
            driver.serviceAccount = SparkJobs.serviceAccount
            let spec = SparkApplicationSpec(
                type: job.type, image: job.image, mainApplicationFile: job.mainApplicationFile, mainClass: job.mainClass,
                arguments: job.arguments.isEmpty ? nil : job.arguments, sparkVersion: job.sparkVersion, driver: driver, executor: job.executor)
            let object = KubeObject("sparkoperator.k8s.io/v1beta2", "SparkApplication", meta(app.name, component: "spark-job"), spec: spec)
            return BundleFile(
                "spark/sparkapplication-\(app.name).yaml", .manifest, YAMLText.file("Spark job \(app.name), run by the Spark operator.", [object]),
                kind: "SparkApplication")
        }
    }
}

struct SparkApplicationSpec: Encodable, Sendable {
    var type: String
    var mode = "cluster"
    var image: String
    var mainApplicationFile: String
    var mainClass: String?
    var arguments: [String]?
    var sparkVersion: String
    var restartPolicy = ["type": "Never"]
    var driver: SparkPod
    var executor: SparkPod
}
