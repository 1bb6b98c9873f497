// swift-tools-version:5.9
// The SoftToken Swift package: the generated bindings over the Rust core
// (SoftTokenFFI.xcframework, built by build-xcframework.sh) and a small
// native layer. Run `./build-xcframework.sh` once, then `swift test`.
import PackageDescription

let package = Package(
    name: "SoftToken",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "SoftToken", targets: ["SoftToken"]),
    ],
    targets: [
        .binaryTarget(name: "SoftTokenFFI", path: "SoftTokenFFI.xcframework"),
        .target(
            name: "SoftToken",
            dependencies: ["SoftTokenFFI"],
            path: "Sources/SoftToken"
        ),
        .testTarget(
            name: "SoftTokenTests",
            dependencies: ["SoftToken"],
            path: "Tests/SoftTokenTests"
        ),
    ]
)
