// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mon",
    products: [
        .executable(name: "monagent", targets: ["MonAgent"]),
        .executable(name: "monquery", targets: ["MonQuery"]),
        .library(name: "MonCore", targets: ["MonCore"]),
        .library(name: "MonAgentKit", targets: ["MonAgentKit"]),
        .library(name: "MonQueryKit", targets: ["MonQueryKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already in the graph through Hummingbird; declared so monquery's connection guard can
        // name the HTTP parts between Hummingbird's decoder and its router (NIOHTTPTypes).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // OTLP trace intake (monagent) and Prometheus remote-write (monquery) are protobuf; the
        // messages are declared in proto/ and their Swift code generated once and committed
        // (proto/README.md), so only the runtime library is built.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // zlib, for gzip-compressed /metrics (already on every machine libpq is on).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // snappy block compression for monquery's Prometheus remote-write bodies.
        .systemLibrary(
            name: "CSnappy",
            pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]
        ),
        // cairo for monquery's PDF reports (vector text and charts; fonts from fonts-dejavu-core).
        // The daemon's side only: the agent never loads libcairo (ARCHITECTURE.md).
        .systemLibrary(
            name: "CCairo",
            pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]
        ),
        // libcurl (its SMTP client: STARTTLS, AUTH, timeouts) for monquery's report e-mail.
        // The daemon's side only, like CCairo.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // recvmmsg(2) for the StatsD receiver (a header only: libc has the function).
        .systemLibrary(name: "CDatagram"),
        .target(
            name: "MonCore",
            dependencies: [
                "CLibPQ",
                "CHiredis",
                "CZlib",
                "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SIGHUP for the configuration reload (ReloadService), trapped as ServiceGroup traps SIGTERM.
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The agent's side: collectors, StatsD, log tailing, the spool and the shipper.
        // Never depends on MonQueryKit (ARCHITECTURE.md).
        .target(
            name: "MonAgentKit",
            dependencies: [
                "MonCore",
                "CDatagram",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // The OTLP/HTTP trace intake (Traces/).
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The daemon's side: ingest, storage, rollups, retention, queries, alerts, anomalies,
        // the dashboard's views. Never depends on MonAgentKit (ARCHITECTURE.md).
        .target(
            name: "MonQueryKit",
            dependencies: [
                "MonCore",
                // PDF reports (Reports/PDFCanvas.swift, the one file that imports it).
                "CCairo",
                // The report e-mail (Mail/SMTPTransport.swift, the one file that imports it).
                "CCurl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                // Remote-write export (RemoteWrite/).
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // TLS (swift-nio-ssl, so BoringSSL) for the executables only: MonCore, and the fuzz and
        // bench packages built on it, stay free of a C library that takes minutes to compile.
        .target(
            name: "MonTLS",
            dependencies: [
                "MonCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "MonAgent",
            dependencies: [
                "MonCore",
                "MonAgentKit",
                "MonTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["hot-code.order"],
            // Release links (gold, Swift's linker on Linux): the functions a running agent keeps
            // using are placed next to each other (hot-code.order, written by
            // bench/hot-code-order; sections of one function each come from
            // `-Xswiftc -Xfrontend -Xswiftc -function-sections`, README "Installing"), so its
            // resident code is a few MiB instead of ~10; and every symbol is bound at start
            // (`-z now`), so no lookup walks the symbol tables after the start-up pages are
            // given back (ProgramCodeTrim). Issue 22, BENCHMARKS.md.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-Xlinker",
                        "--section-ordering-file=\(Context.packageDirectory)/Sources/MonAgent/hot-code.order",
                        "-Xlinker", "-z", "-Xlinker", "now",
                    ],
                    .when(platforms: [.linux], configuration: .release))
            ],
            plugins: ["BuildInfoPlugin"]
        ),
        .executableTarget(
            name: "MonQuery",
            dependencies: [
                "MonCore",
                "MonQueryKit",
                "MonTLS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["BuildInfoPlugin"]
        ),
        // `BuildInfo.current` in each executable: the git revision and Swift version captured at
        // build time ("unknown" outside a git checkout). Plugins/BuildInfoPlugin.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        // Helpers every test target shares: seeded corruptions, named inputs, the fixture
        // directory (Tests/Fixtures, found from the source path), temporary files.
        .target(
            name: "MonTestSupport",
            dependencies: ["MonCore"],
            path: "Tests/MonTestSupport"
        ),
        // Unit tests mirror the library targets: each imports only the target it tests (and
        // MonCore), so a test that needs both sides is an integration test.
        .testTarget(
            name: "MonCoreTests",
            dependencies: [
                "MonCore",
                "MonTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "MonAgentKitTests",
            dependencies: [
                "MonCore",
                "MonAgentKit",
                "MonTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // HTTP-level tests of monquery's router (`app.test(.router)`) that need no database.
        .testTarget(
            name: "MonQueryKitTests",
            dependencies: [
                "MonCore",
                "MonQueryKit",
                "MonQuery",
                "MonTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // Both programs together, against a real PostgreSQL and Redis (scripts/test starts them).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MonCore",
                "MonAgentKit",
                "MonQueryKit",
                "MonQuery",
                "MonTLS",
                "MonTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
