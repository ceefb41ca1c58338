// swift-tools-version: 6.0
// libFuzzer targets for Firestream's parsers and recovery. Not part of the main build or CI:
// scripts/fuzz builds them with -sanitize=fuzzer,address and runs each for a time budget.
import PackageDescription

let package = Package(
    name: "firestream-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "firestream", path: ".."),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .target(name: "CFuzzMain"),
        .executableTarget(
            name: "FuzzIngest",
            dependencies: [
                "CFuzzMain", .product(name: "FirestreamFormats", package: "firestream"), .product(name: "FirestreamJSON", package: "firestream"),
            ]),
        .executableTarget(name: "FuzzConfig", dependencies: ["CFuzzMain", .product(name: "FirestreamConfig", package: "firestream")]),
        .executableTarget(name: "FuzzRecordBatch", dependencies: ["CFuzzMain", .product(name: "KafkaWire", package: "firestream")]),
        .executableTarget(
            name: "FuzzKafkaRequest",
            dependencies: ["CFuzzMain", .product(name: "KafkaProtocol", package: "firestream"), .product(name: "KafkaWire", package: "firestream")]),
        .executableTarget(
            name: "FuzzRecovery",
            dependencies: [
                "CFuzzMain", .product(name: "FirestreamLog", package: "firestream"), .product(name: "FirestreamTesting", package: "firestream"),
                .product(name: "KafkaWire", package: "firestream"),
            ]),
        .executableTarget(name: "FuzzSasl", dependencies: ["CFuzzMain", .product(name: "FirestreamFormats", package: "firestream")]),
        .executableTarget(
            name: "FuzzQuery",
            dependencies: [
                "CFuzzMain", .product(name: "FirestreamGateway", package: "firestream"), .product(name: "FirestreamFormats", package: "firestream"),
                .product(name: "FirestreamJSON", package: "firestream"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
    ]
)
