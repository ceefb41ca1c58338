import Foundation

/// Where the dashboard's Plotly.js comes from: never committed, found in the installed PyPI
/// `plotly` package (`plotly/package_data/plotly.min.js`) or given with `--plotly-js`.
public enum PlotlyAsset {
    /// The file's path, or why there is none (shown on the dashboard and in the log).
    public enum Location: Sendable, Equatable {
        case file(String)
        case missing(String)
    }

    /// `explicit` (from `--plotly-js`) when given, else `$FIRESTREAM_PLOTLY_JS`, else the copy in
    /// the `plotly` package that `python3` finds. `environment` defaults to the process's.
    public static func locate(explicit: String? = nil, environment: [String: String]? = nil) -> Location {
        if let path = explicit ?? (environment ?? ProcessInfo.processInfo.environment)["FIRESTREAM_PLOTLY_JS"] {
            return FileManager.default.isReadableFile(atPath: path)
                ? .file(path) : .missing("Plotly.js was not found at \(path) (given with --plotly-js or FIRESTREAM_PLOTLY_JS).")
        }
        let script =
            "import importlib.util, os; s = importlib.util.find_spec('plotly'); print(os.path.join(os.path.dirname(s.origin), 'package_data', 'plotly.min.js') if s else '')"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .missing("Plotly.js was not found: python3 is not installed, so the plotly package could not be looked up.")
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if !path.isEmpty, FileManager.default.isReadableFile(atPath: path) { return .file(path) }
        return .missing("Plotly.js was not found: the Python package plotly is not installed for python3.")
    }
}
