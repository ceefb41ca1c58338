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
        abstract: "Create tokens for the HTTP/WebSocket gateway and for Kafka clients (SASL).",
        discussion: """
            A token is a random secret; the config keeps only its SHA-256 (and SCRAM
            keys derived from it) under gateway.tokens, with its scopes. Once a
            project declares a token, every HTTP request needs one (or a dashboard
            session), every Kafka client signs in with SASL (user name: the token's
            name; password: the token), and `up --host 0.0.0.0` and a non-loopback
            kafka.listener are allowed.

            Scopes (a pattern's * matches any run of characters):
              topic:<pattern>:read    consume, subscribe, list, commit offsets
              topic:<pattern>:write   POST and WebSocket ingest, Kafka produce
              topic:<pattern>:admin   both, and create, delete, grow, truncate
              metrics:read            /metrics
              admin                   everything, the Kafka broker's settings too

            Examples:
              firestream token create --name ingest --scope topic:metronome:write
              firestream token create --name dash --scope 'topic:*:read' \\
                  --scope metrics:read
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
            let config = TokenConfig(
                name: name, sha256: AccessToken.digestHex(token), scopes: scopes.compactMap { try? TokenScope.parse($0).get() },
                scram: ScramMechanism.allCases.map { ScramCredential.derive($0, password: token) })
            let entry = ConfigRenderer.tree(config)
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
            print(
                "         or:  kcat -b localhost:9092 -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-256 "
                    + "-X sasl.username=\(name) -X sasl.password=\(token) -L")
        }
    }
}
