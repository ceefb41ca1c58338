import FirestreamConfig
import Testing

@testable import FirestreamCLI

/// Answers the wizard's questions from a list and records everything it says.
final class ScriptedPrompt: PromptIO {
    private var answers: [String]
    private(set) var transcript: [String] = []

    init(_ answers: [String]) {
        self.answers = answers
    }

    func ask(_ prompt: String) -> String? {
        transcript.append(prompt)
        return answers.isEmpty ? nil : answers.removeFirst()
    }

    func tell(_ text: String) {
        transcript.append(text)
    }
}

@Suite struct InitWizardTests {
    let defaults = InitAnswers(name: "demo", services: ServiceKind.initDefaults, format: .json)

    @Test func enterAcceptsEveryDefault() throws {
        let prompt = ScriptedPrompt(Array(repeating: "", count: 9))
        let answers = try InitWizard(io: prompt).run(defaults: defaults)
        #expect(answers == defaults)
        #expect(prompt.transcript.contains("Project name [demo]: "))
        #expect(prompt.transcript.contains { $0.hasPrefix("  kafka") && $0.hasSuffix("[Y/n]: ") })
        #expect(prompt.transcript.contains { $0.hasPrefix("  airflow") && $0.hasSuffix("[y/N]: ") })
    }

    @Test func invalidAnswersAreExplainedAndAskedAgain() throws {
        let prompt = ScriptedPrompt(["My App", "my-app", "maybe", "n", "", "NO", "yes", "", "y", "k3d,nomad", "k3d, helm", "toml", "YAML"])
        let answers = try InitWizard(io: prompt).run(defaults: defaults)
        #expect(answers == InitAnswers(name: "my-app", services: [.minio, .airflow, .contour], targets: [.k3d, .helm], format: .yaml))
        #expect(prompt.transcript.contains("  \"nomad\" is not a target; choose among k3s, k3d, flux, helm, vm"))
        #expect(prompt.transcript.contains("  \"My App\" is not a valid name: use only lower-case letters, digits and '-' (try \"my-app\")"))
        #expect(prompt.transcript.contains("  answer y or n"))
        #expect(prompt.transcript.contains("  answer json or yaml"))
    }

    @Test func endOfInputCancels() {
        #expect(throws: InitWizard.Cancelled.self) {
            try InitWizard(io: ScriptedPrompt(["demo", "y"])).run(defaults: defaults)
        }
    }
}
