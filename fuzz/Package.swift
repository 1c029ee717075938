// swift-tools-version:6.0
// libFuzzer targets for MonCore and the two kits (issue 7, "Bad input and fuzzing"). A separate package so
// the main build never sees the fuzzer flags; see fuzz/README.md.
import PackageDescription

let fuzzTargets = [
    "FuzzFrame", "FuzzProc", "FuzzRedis", "FuzzStatsD", "FuzzLogLine", "FuzzQueryParams", "FuzzHTTPRoute",
    "FuzzOTLP",
]

let package = Package(
    name: "mon-fuzz",
    dependencies: [
        .package(name: "mon", path: ".."),
        // FuzzOTLP re-serializes the OTLP requests it decoded (the messages are SwiftProtobuf's).
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // libFuzzer's driver behind the `<Target>_main` entry point SwiftPM links executables with.
        .target(name: "FuzzMain"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "MonCore", package: "mon"), .product(name: "MonAgentKit", package: "mon"),
                .product(name: "MonQueryKit", package: "mon"),
            ]
        ),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzMain", "FuzzSupport", .product(name: "MonCore", package: "mon"),
                    .product(name: "MonAgentKit", package: "mon"), .product(name: "MonQueryKit", package: "mon"),
                ] + (name == "FuzzOTLP" ? [.product(name: "SwiftProtobuf", package: "swift-protobuf")] : [])
            )
        },
    swiftLanguageModes: [.v6]
)
