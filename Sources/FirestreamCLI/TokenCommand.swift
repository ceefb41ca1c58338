import ArgumentParser
import FirestreamConfig
import FirestreamFormats
import FirestreamGateway
import FirestreamJSON
import Foundation

/// `firestream token …`: bearer tokens for the gateway.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create bearer tokens for the HTTP/WebSocket gateway.",
        discussion: """
            A token is a random secret; the config keeps only its SHA-256 under gateway.tokens,
            with its scopes. Once a project declares a token, every request needs one (or a
            dashboard session), and `firestream up --host 0.0.0.0` is allowed.

            Scopes:
              topic:<name or pattern>:read     consume, subscribe, list   (pattern: * is any run)
              topic:<name or pattern>:write    POST and WebSocket ingest
              topic:<name or pattern>:admin    both, and auto-creating matching topics
              metrics:read                     /metrics
              admin                            everything

            Examples:
              firestream token create --name ingest --scope topic:metronome:write
              firestream token create --name dashboard --scope 'topic:*:read' --scope metrics:read
            """,
        subcommands: [Create.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new token (once) and the config entry that holds its hash.")

        @Option(help: "A name for the token (shown in errors and logs).")
        var name: String

        @Option(name: .customLong("scope"), help: "What the token may do; repeat for several (see `firestream help token`).")
        var scopes: [String]

        @Option(help: "yaml or json: the form of the config entry (default: that of the project's config).")
        var format: ConfigFormat?

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name must not be empty") }
            if scopes.isEmpty { throw ValidationError("give at least one --scope, e.g. --scope topic:metronome:write") }
            for scope in scopes {
                if case .failure(let problem) = TokenScope.parse(scope) {
                    throw ValidationError("--scope \(scope): \(problem.message)\(problem.hint.map { " (\($0))" } ?? "")")
                }
            }
        }

        func run() throws {
            let token = AccessToken.generate()
            let entry = JSONValue.object([
                ("name", .string(name)), ("sha256", .string(AccessToken.digestHex(token))), ("scopes", .array(scopes.map(JSONValue.string))),
            ])
            let yaml = format.map { $0 == .yaml } ?? ConfigLoader.fileNames.dropFirst().contains { FileManager.default.fileExists(atPath: $0) }
            print("Token \"\(name)\" (shown only now: keep it in a secret store):\n")
            print("  \(token)\n")
            print("Add this entry under gateway.tokens in the project's config, then restart firestream up:\n")
            if yaml {
                print(ConfigRenderer.render(.array([entry]), as: .yaml).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n")
            } else {
                print("  " + JSONText.compact(entry) + "\n")
            }
            print("Use it with:  curl -H 'Authorization: Bearer \(token)' http://localhost:8000/topics")
        }
    }
}
