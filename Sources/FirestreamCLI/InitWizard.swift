public import FirestreamConfig
import Foundation

/// Where the `init` questions are asked and answered: the terminal, or a script in tests.
public protocol PromptIO {
    /// Shows `prompt` and returns the answer line, or nil at end of input.
    func ask(_ prompt: String) -> String?
    /// Shows a line of text.
    func tell(_ text: String)
}

/// Asks on standard output and reads standard input.
struct TerminalPrompt: PromptIO {
    func ask(_ prompt: String) -> String? {
        print(prompt, terminator: "")
        fflush(nil)
        return readLine(strippingNewline: true)
    }

    func tell(_ text: String) {
        print(text)
    }
}

/// The choices `init` needs; the defaults come from flags and the directory name.
public struct InitAnswers: Equatable, Sendable {
    public var name: String
    public var services: [ServiceKind]
    /// What `firestream deploy render` writes by default (`deploy.targets`).
    public var targets: [DeployTarget]
    public var format: ConfigFormat

    public init(name: String, services: [ServiceKind], targets: [DeployTarget] = [.k3s], format: ConfigFormat) {
        self.name = name
        self.services = services
        self.targets = targets
        self.format = format
    }
}

/// The guided set-up: asks the project name, each service, and the file format, showing the
/// default in brackets (Enter accepts it) and asking again after an invalid answer.
public struct InitWizard {
    /// The input ended before every question was answered.
    public struct Cancelled: Error {}

    let io: any PromptIO

    public init(io: any PromptIO) {
        self.io = io
    }

    public func run(defaults: InitAnswers) throws(Cancelled) -> InitAnswers {
        io.tell("Creating a Firestream project. Press Enter to accept the [default].")
        var answers = defaults
        answers.name = try ask("Project name [\(defaults.name)]: ", default: defaults.name) { answer in
            guard let problem = NameRules.dns1123LabelProblem(answer) else { return .success(answer) }
            let fixed = NameRules.suggestedLabel(from: answer)
            return .failure(
                Complaint(text: "\"\(answer)\" is not a valid name: \(problem)" + (fixed.isEmpty ? "" : " (try \"\(fixed)\")")))
        }
        io.tell("Services to deploy when you move to Kubernetes:")
        answers.services = []
        for kind in ServiceKind.allCases {
            let enabled = defaults.services.contains(kind)
            let prompt = "  \(kind.rawValue) — \(kind.summary)? [\(enabled ? "Y/n" : "y/N")]: "
            if try ask(prompt, default: enabled, parse: yesNo) { answers.services.append(kind) }
        }
        let targetList = defaults.targets.map(\.rawValue).joined(separator: ",")
        let known = DeployTarget.allCases.map(\.rawValue).joined(separator: ", ")
        answers.targets = try ask("Kubernetes targets for `firestream deploy render` (\(known)) [\(targetList)]: ", default: defaults.targets) {
            answer in InitWizard.targets(answer)
        }
        answers.format = try ask("Config format, json or yaml [\(defaults.format.rawValue)]: ", default: defaults.format) {
            answer in
            ConfigFormat(rawValue: answer.lowercased()).map { .success($0) } ?? .failure(Complaint(text: "answer json or yaml"))
        }
        return answers
    }

    /// Comma-separated target names, or why they are not.
    static func targets(_ text: String) -> Result<[DeployTarget], Complaint> {
        var targets: [DeployTarget] = []
        for word in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !word.isEmpty {
            guard let target = DeployTarget(rawValue: word) else {
                return .failure(
                    Complaint(text: "\"\(word)\" is not a target; choose among \(DeployTarget.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            if !targets.contains(target) { targets.append(target) }
        }
        return targets.isEmpty ? .failure(Complaint(text: "name at least one target")) : .success(targets)
    }

    private func yesNo(_ answer: String) -> Result<Bool, Complaint> {
        switch answer.lowercased() {
        case "y", "yes": .success(true)
        case "n", "no": .success(false)
        default: .failure(Complaint(text: "answer y or n"))
        }
    }

    /// Why an answer was not accepted; shown before the question is asked again.
    struct Complaint: Error {
        var text: String
    }

    private func ask<T>(_ prompt: String, default value: T, parse: (String) -> Result<T, Complaint>) throws(Cancelled) -> T {
        while true {
            guard let line = io.ask(prompt) else { throw Cancelled() }
            let answer = line.trimmingCharacters(in: .whitespaces)
            if answer.isEmpty { return value }
            switch parse(answer) {
            case .success(let parsed): return parsed
            case .failure(let complaint): io.tell("  \(complaint.text)")
            }
        }
    }
}
