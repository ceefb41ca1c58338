import ArgumentParser
import FirestreamConfig
import FirestreamEmbedded
import FirestreamJSON
import FirestreamPython
import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

/// `firestream apps …`: work on app code without a running project.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps", abstract: "Work on stream apps without running a project.", subcommands: [Test.self])

    /// `firestream apps test`: a Python app over a file of records, through the real runtime.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a Python app over a file of records and print its outputs, dead letters and final state.",
            discussion: """
                Each line of --input is one record's value (JSON Lines), read by the app's first
                input topic, one millisecond apart. The records go through the same runtime and
                worker protocol as in `firestream up`, in steps of --step records, with nothing
                stored. --advance moves the clock past the last record to fire timeouts.

                Examples:
                  firestream apps test apps/wiener.py:Wiener --input sample.jsonl
                  firestream apps test apps/sessions.py:Sessions --input clicks.jsonl --advance 60000 --format json
                """
        )

        @Argument(help: "The app: path/to/file.py:Class.")
        var module: String

        @Option(help: "JSON Lines, one record value per line (- for standard input).")
        var input: String

        @Option(help: "The Python interpreter.")
        var python = "python3"

        @Option(help: "Records per step.")
        var step = 500

        @Option(help: "Milliseconds to move the clock past the last record, firing the timeouts then due.")
        var advance: Int64 = 0

        @Option(help: "text or json (one JSON object per line).")
        var format: Format = .text

        enum Format: String, ExpressibleByArgument {
            case text, json
        }

        func validate() throws {
            guard (1...100_000).contains(step) else { throw ValidationError("--step must be between 1 and 100000") }
            guard advance >= 0 else { throw ValidationError("--advance must be 0 or more") }
        }

        func run() async throws {
            let lines = try readLines()
            let app: PythonApp
            do {
                app = try PythonApps.app(module: module, python: python, directory: ConfigLoader.currentDirectory)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            defer { app.workers.stop() }
            let clock = Atomic<Int64>(0)
            var stepper = AppStepper(
                app, partition: 0, inputNext: Array(repeating: 0, count: app.inputTopics.count), outputPartitions: 1,
                clock: { clock.load(ordering: .relaxed) })
            var states: [String: String] = [:]
            var offset: Int64 = 0
            do {
                for chunk in stride(from: 0, to: lines.count, by: step).map({ Array(lines[$0..<min($0 + step, lines.count)]) }) {
                    var records: [ConsumerRecord] = []
                    for line in chunk {
                        records.append(ConsumerRecord(offset: offset, timestamp: offset, key: nil, value: Array(line.utf8)))
                        offset += 1
                    }
                    clock.store(offset - 1, ordering: .relaxed)
                    let batches = [records] + Array(repeating: [], count: app.inputTopics.count - 1)
                    if let done = try stepper.step(batches) { show(done, states: &states) }
                }
                if advance > 0 {
                    clock.store(max(0, offset - 1) + advance, ordering: .relaxed)
                    if let done = try stepper.step(Array(repeating: [], count: app.inputTopics.count)) { show(done, states: &states) }
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            for key in states.keys.sorted() {
                let json = states[key]!
                print(format == .text ? "state        \(key)  \(json)" : #"{"state":\#(JSONText.quote(key)),"value":\#(json)}"#)
            }
        }

        private func readLines() throws -> [String] {
            let text: String
            if input == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: input) else { throw ValidationError("--input \(input): cannot read the file") }
                text = String(decoding: data, as: UTF8.self)
            }
            return text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
        }

        private func show(_ step: AppStepper<PythonApp>.Step, states: inout [String: String]) {
            for (topic, _, records) in step.outputs {
                for record in records {
                    let value = String(decoding: record.value ?? [], as: UTF8.self)
                    let key = record.key.map { String(decoding: $0, as: UTF8.self) }
                    switch (format, topic) {
                    case (.text, 0): print("output       \(key.map { "key=\($0)  " } ?? "")\(value)")
                    case (.text, _): print("dead letter  \(value)")
                    case (.json, 0):
                        // An output that is not JSON (bytes or text the app wrote as they are) as a string.
                        let json = JSONBytes.isValid(record.value ?? []) ? value : JSONText.quote(value)
                        print(#"{"output":\#(json),"key":\#(key.map(JSONText.quote) ?? "null")}"#)
                    case (.json, _): print(#"{"dead_letter":\#(value)}"#)
                    }
                }
            }
            for (key, value) in step.states {
                guard let value, let state = try? JSONDecoder().decode(PythonApp.State.self, from: Data(value)) else {
                    states[key] = nil
                    continue
                }
                states[key] = state.json
            }
        }
    }
}
