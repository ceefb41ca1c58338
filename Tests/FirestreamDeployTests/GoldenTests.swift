import FirestreamConfig
import FirestreamDeploy
import Foundation
import Testing

/// The rendered bundles of the example projects, file for file, against reviewed copies in
/// Golden/. After an intended change: `FIRESTREAM_UPDATE_GOLDEN=1 swift test --filter GoldenTests`,
/// then review the diff like code.
@Suite struct GoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Golden")

    @Test(arguments: [("kubernetes/firestream.json", DeployTarget.k3d), ("kubernetes-kafka/firestream.yaml", .helm)])
    func theExampleBundleIsTheReviewedOne(example: String, target: DeployTarget) throws {
        let config = try Fixtures.load(Fixtures.root.appending(path: "examples").appending(path: example))
        let bundle = try Fixtures.bundle(config, target)
        let folder = Self.golden.appending(path: "\(example.split(separator: "/")[0])-\(target.rawValue)")
        if ProcessInfo.processInfo.environment["FIRESTREAM_UPDATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try bundle.write(to: folder)
        }
        let listing = try String(contentsOf: folder.appending(path: DeployBundle.markerName), encoding: .utf8)
        #expect(listing.split(separator: "\n").map(String.init) == bundle.files.map(\.path))
        for file in bundle.files {
            let expected = try? String(contentsOf: folder.appending(path: file.path), encoding: .utf8)
            #expect(expected == file.contents, "\(file.path) differs from Golden/\(folder.lastPathComponent)/\(file.path)")
        }
    }
}
