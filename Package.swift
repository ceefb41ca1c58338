// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "firestream",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "firestream", targets: ["firestream"]),
        .library(name: "FirestreamConfig", targets: ["FirestreamConfig"]),
        .library(name: "FirestreamDeploy", targets: ["FirestreamDeploy"]),
        .library(name: "FirestreamJSON", targets: ["FirestreamJSON"]),
        .library(name: "FirestreamFormats", targets: ["FirestreamFormats"]),
        .library(name: "FirestreamLog", targets: ["FirestreamLog"]),
        .library(name: "FirestreamStreams", targets: ["FirestreamStreams"]),
        .library(name: "FirestreamWarehouse", targets: ["FirestreamWarehouse"]),
        .library(name: "FirestreamDemo", targets: ["FirestreamDemo"]),
        .library(name: "FirestreamCLI", targets: ["FirestreamCLI", "FirestreamEmbedded"]),
        .library(name: "FirestreamGateway", targets: ["FirestreamGateway"]),
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        // For tests and fuzzers of code built on the log: a disk that loses what was not synced.
        .library(name: "FirestreamTesting", targets: ["FirestreamTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The SQLite it compiles in (3.54) is the embedded SQL engine; Firestream uses its C API.
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        // The table sink and queries on PostgreSQL (COPY, the wire protocol).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(name: "CRC32CHardware"),
        // gzip, snappy, lz4 and zstd from the system's libraries (Kafka's batch codecs).
        .systemLibrary(
            name: "CCompression", providers: [.apt(["zlib1g-dev", "libsnappy-dev", "liblz4-dev", "libzstd-dev"]), .brew(["snappy", "lz4", "zstd"])]),
        .target(name: "KafkaWire", dependencies: ["CRC32CHardware", "CCompression"]),
        // librdkafka (Debian's librdkafka-dev): Firestream as a client of a real Kafka cluster.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"]), .brew(["librdkafka"])]),
        .target(name: "KafkaClient", dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]),
        // Apps on a Kafka cluster: workers sharing input partitions in a consumer group, exactly once.
        .target(
            name: "FirestreamKafka",
            dependencies: ["FirestreamLog", "FirestreamStreams", "KafkaClient", "KafkaWire", .product(name: "Logging", package: "swift-log")]),
        // Kafka's request and response messages, generated from its JSON specs (scripts/kafka-codegen.py).
        .target(name: "KafkaProtocol", dependencies: ["KafkaWire"]),
        // The Kafka broker: a request-in, response-out core over the log, served with swift-nio.
        .target(
            name: "KafkaBroker",
            dependencies: [
                "FirestreamFormats", "FirestreamLog", "KafkaProtocol", "KafkaWire",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(name: "FirestreamJSON"),
        // SQL over topics (SQLite's `records()` virtual table), the declared tables, the catalog.
        // VaporCSQLite is sqlite-nio's vendored SQLite: a target of that package, not a product, so
        // its version is pinned by `from:` above and the dependency is named through the product.
        .target(
            name: "FirestreamWarehouse",
            dependencies: [
                "FirestreamJSON", "FirestreamLog", "FirestreamStreams", "KafkaWire", .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        // Every text format that is not Kafka's, without I/O: located JSON, record JSON, ingest
        // bodies, start positions, quantities and durations, token scopes, webhook signatures.
        .target(
            name: "FirestreamFormats", dependencies: ["FirestreamJSON", "KafkaWire", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "FirestreamLog", dependencies: ["KafkaWire"]),
        // Test support: a disk that loses what was not synced (power loss) and fails on demand.
        .target(name: "FirestreamTesting", dependencies: ["FirestreamLog", "KafkaWire"]),
        .target(
            name: "FirestreamStreams",
            dependencies: [
                "FirestreamJSON", "FirestreamLog", "KafkaWire", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Stream apps written in Python: the runtime's StreamApp answered by worker processes.
        .target(name: "FirestreamPython", dependencies: ["FirestreamStreams", "KafkaWire"]),
        // The flagship demo (metronome → wiener), an ordinary user of the runtime.
        .target(name: "FirestreamDemo", dependencies: ["FirestreamJSON", "FirestreamLog", "FirestreamStreams", "KafkaWire"]),
        .target(
            name: "FirestreamConfig",
            dependencies: ["FirestreamFormats", "FirestreamJSON", .product(name: "Yams", package: "Yams")]
        ),
        // Kubernetes, Helm, k3d and cloud-init files rendered from the config (typed, Yams).
        .target(
            name: "FirestreamDeploy",
            dependencies: ["FirestreamConfig", "FirestreamFormats", "FirestreamJSON", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "FirestreamGateway",
            dependencies: [
                "FirestreamFormats", "FirestreamJSON", "FirestreamLog", "FirestreamWarehouse", "KafkaWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The dashboard page is a real HTML file, compiled into the binary.
            resources: [.embedInCode("Resources/dashboard.html"), .embedInCode("Resources/warehouse.html")]
        ),
        .target(
            name: "FirestreamConnectors",
            dependencies: [
                "FirestreamFormats", "FirestreamJSON", "FirestreamLog", "FirestreamStreams", "KafkaWire",
                .product(name: "WSClient", package: "swift-websocket"), .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "FirestreamEmbedded",
            dependencies: [
                "FirestreamConfig", "FirestreamConnectors", "FirestreamDemo", "FirestreamFormats", "FirestreamGateway", "FirestreamJSON",
                "FirestreamPython",
                "FirestreamKafka", "FirestreamLog",
                "FirestreamStreams", "FirestreamWarehouse", "KafkaBroker", "KafkaWire", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "FirestreamCLI",
            dependencies: [
                "FirestreamConfig",
                "FirestreamDeploy",
                "FirestreamEmbedded",
                "FirestreamFormats",
                "FirestreamGateway",
                "FirestreamJSON",
                "FirestreamKafka",
                "FirestreamLog",
                "FirestreamPython",
                "FirestreamStreams",
                "FirestreamWarehouse",
                "KafkaWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            // `firestream init --template python` writes these files.
            resources: [
                .embedInCode("Templates/python/wiener.py"), .embedInCode("Templates/python/test_wiener.py"),
                .embedInCode("Templates/airflow/wiener_positions.py"),
            ]
        ),
        .executableTarget(name: "firestream", dependencies: ["FirestreamCLI"]),
        .target(name: "FirestreamExamples", dependencies: ["FirestreamStreams"], path: "examples/FirestreamExamples"),
        .executableTarget(
            name: "firestream-sessions", dependencies: ["FirestreamCLI", "FirestreamEmbedded", "FirestreamExamples", "FirestreamStreams"],
            path: "examples/firestream-sessions"
        ),
        .executableTarget(
            name: "firestream-bench",
            dependencies: [
                "FirestreamDemo", "FirestreamFormats", "FirestreamGateway", "FirestreamJSON", "FirestreamKafka", "FirestreamLog", "FirestreamPython",
                "FirestreamStreams", "FirestreamWarehouse", "KafkaBroker",
                "KafkaProtocol", "KafkaWire", .product(name: "WSClient", package: "swift-websocket"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FirestreamBenchmarks"
        ),
        // Ratchets on file and function length over Sources/ (reads the tree, builds nothing).
        .testTarget(name: "TidyTests"),
        .testTarget(name: "KafkaWireTests", dependencies: ["FirestreamLog", "KafkaWire"]),
        .testTarget(name: "KafkaProtocolTests", dependencies: ["KafkaProtocol", "KafkaWire"]),
        .testTarget(
            name: "KafkaClientTests",
            dependencies: [
                "FirestreamFormats", "FirestreamLog", "FirestreamTesting", "KafkaBroker", "KafkaClient",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "KafkaBrokerTests",
            dependencies: [
                "FirestreamFormats", "FirestreamLog", "FirestreamTesting", "KafkaBroker", "KafkaProtocol", "KafkaWire",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "FirestreamJSONTests", dependencies: ["FirestreamJSON"]),
        .testTarget(
            name: "FirestreamWarehouseTests",
            dependencies: ["FirestreamJSON", "FirestreamLog", "FirestreamStreams", "FirestreamTesting", "FirestreamWarehouse", "KafkaWire"]),
        .testTarget(name: "FirestreamLogTests", dependencies: ["FirestreamLog", "FirestreamTesting", "KafkaWire"]),
        .testTarget(
            name: "FirestreamStreamsTests",
            dependencies: [
                "FirestreamStreams", "FirestreamDemo", "FirestreamExamples", "FirestreamJSON", "FirestreamTesting",
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "FirestreamConnectorsTests",
            dependencies: [
                "FirestreamConnectors", "FirestreamFormats", "FirestreamGateway", "FirestreamJSON", "FirestreamLog", "FirestreamTesting", "KafkaWire",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(name: "FirestreamDeployTests", dependencies: ["FirestreamConfig", "FirestreamDeploy", "FirestreamFormats", "FirestreamJSON"]),
        .testTarget(name: "FirestreamConfigTests", dependencies: ["FirestreamConfig", "FirestreamFormats", "FirestreamJSON", "FirestreamTesting"]),
        .testTarget(
            name: "FirestreamGatewayTests",
            dependencies: [
                "FirestreamFormats", "FirestreamGateway", "FirestreamJSON", "FirestreamLog", "FirestreamTesting", "FirestreamWarehouse", "KafkaWire",
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FirestreamCLITests",
            dependencies: [
                "FirestreamCLI", "FirestreamConfig", "FirestreamWarehouse", "firestream", "FirestreamDemo", "FirestreamEmbedded", "FirestreamFormats",
                "FirestreamJSON", "FirestreamLog",
                "FirestreamPython",
                "FirestreamStreams", "FirestreamTesting", "KafkaClient", "KafkaWire",
                .product(name: "WSClient", package: "swift-websocket"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

// Every Swift target: imports are internal unless marked `public import` (the public surface
// shows in the imports), existentials are spelled `any`, and members are visible only from
// modules the file imports.
for target in package.targets where target.type != .system && target.name != "CRC32CHardware" {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("InternalImportsByDefault"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
}
