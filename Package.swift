// swift-tools-version:6.0
import PackageDescription

// System libraries come from Debian's -dev packages (see Makefile `deps`);
// each module map is a shim header plus a `link` line, no pkg-config.
let package = Package(
    name: "restore",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "restore", targets: ["restore-cli"]),
        .executable(name: "restore-bench", targets: ["restore-bench"]),
        .library(name: "RestoreCore", targets: ["RestoreCore"]),
        .library(name: "Tasks", targets: ["Tasks"]),
        .library(name: "Probe", targets: ["Probe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile"),
        .systemLibrary(name: "CSampleRate", path: "Sources/CSampleRate"),
        .systemLibrary(name: "CFFTW3", path: "Sources/CFFTW3"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        // oneDNN (Debian libdnnl-dev) wrapper and AVX2/AVX-512 kernels chosen at run time.
        // No unsafeFlags anywhere: SwiftPM refuses them in a package used as a versioned
        // dependency. The AVX-512 width is asked for in kernels.c (min_vector_width); debug
        // builds that must run numeric code fast (make test) add -Xswiftc -O -Xcc -O2 on the
        // command line (scripts/run-tests).
        .target(
            name: "CKernels",
            linkerSettings: [.linkedLibrary("dnnl")]
        ),
        .target(
            name: "RestoreCore",
            dependencies: ["COpenBLAS", "CSndFile", "CSampleRate", "CFFTW3", "CZlib", "CCrypto", "CKernels"]
        ),
        .target(
            name: "Tasks",
            dependencies: ["RestoreCore", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "Probe", dependencies: ["RestoreCore"]),
        .executableTarget(
            name: "restore-cli",
            dependencies: [
                "RestoreCore", "Tasks", "Probe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "restore-bench",
            dependencies: [
                "RestoreCore", "Tasks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/restore-bench"
        ),
        .testTarget(name: "RestoreCoreTests", dependencies: ["RestoreCore", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "RestoreCore"]),
        .testTarget(name: "ProbeTests", dependencies: ["Probe"]),
        .testTarget(name: "RestoreCLITests", dependencies: ["restore-cli", "RestoreCore", "Tasks"], exclude: ["Golden"]),
    ]
)
