import Foundation

/// Writes to standard error (diagnostics, notes), keeping standard output for results.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}
