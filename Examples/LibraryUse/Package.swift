// swift-tools-version:6.0
import Foundation
import PackageDescription

// Uses restore's libraries by version, as any other package would. The URL is the git
// repository this example sits in, unless RESTORE_PACKAGE_URL names another (a clone or a
// mirror); scripts/test-library points it at a tagged snapshot of the work tree.
let checkout = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let restoreURL = Context.environment["RESTORE_PACKAGE_URL"] ?? checkout.absoluteString
// SwiftPM names a package after the last component of its URL (a checkout may sit in a
// folder of any name); with a URL ending in restore or restore.git this is "restore".
let restorePackage = String(restoreURL.split(separator: "/").last ?? "restore").replacingOccurrences(of: ".git", with: "")

let package = Package(
    name: "LibraryUse",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: restoreURL, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(
            name: "library-use",
            dependencies: [
                .product(name: "RestoreCore", package: restorePackage),
                .product(name: "Tasks", package: restorePackage),
            ],
            path: "Sources/LibraryUse"
        ),
    ]
)
