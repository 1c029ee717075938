// swift-tools-version:6.1
// mon-bench: benchmark tools that need MonCore itself (the /metrics renderer, the ingest
// wire protocol, the collectors, the rollup and partition code). A separate package so that the root package (and its users) never build
// it. Build it with a scratch path of its own (bench/metrics-render does), never in
// ../../.build.
import PackageDescription

let package = Package(
    name: "mon-bench",
    dependencies: [
        // The repository root (package "mon"). Its identity is the name of the directory
        // the repository is checked out in, so the product below names the package "mon".
        .package(name: "mon", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Micro-benchmarks of the hot parsers (Benchmarks/Parsers, `swift package benchmark`,
        // bench/micro). Only the malloc interposer trait: the runtime interposer is not mirrored.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "mon-bench",
            dependencies: [
                .product(name: "MonCore", package: "mon"),
                .product(name: "MonAgentKit", package: "mon"),
                .product(name: "MonQueryKit", package: "mon"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Parsers",
            dependencies: [
                .product(name: "MonCore", package: "mon"),
                .product(name: "MonAgentKit", package: "mon"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Parsers",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
