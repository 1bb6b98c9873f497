#!/usr/bin/env bash
# Builds SoftTokenFFI.xcframework for the SoftToken Swift package, on a Mac
# with Xcode and rustup:
#   - the static library for aarch64-apple-ios (devices), aarch64-apple-ios-sim
#     and x86_64-apple-ios (simulators, joined with lipo), and the Mac itself
#     (so `swift test` runs the package's tests on the host);
#   - the Swift bindings, generated with the workspace's own uniffi-bindgen,
#     into Sources/SoftToken/Generated/ (build output, not committed);
#   - the XCFramework with `xcodebuild -create-xcframework`.
# Usage: ios/build-xcframework.sh [--release|--debug]   (release by default:
# the workspace's `mobile` profile, the release build optimised for size that
# Android uses too)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=mobile
[ "${1:-}" = "--debug" ] && profile=dev
dir=$([ "$profile" = dev ] && echo debug || echo mobile)

device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
macs=(aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "$device" "${simulators[@]}" "${macs[@]}"

for target in "$device" "${simulators[@]}" "${macs[@]}"; do
  cargo build --locked --profile "$profile" -p softtoken-ffi --target "$target"
done

lib=libsofttoken_ffi.a
out=target/ios
rm -rf "$out" ios/SoftTokenFFI.xcframework
mkdir -p "$out/headers" "$out/sim" "$out/mac"

# The bindings, from the device library (library mode reads its metadata).
bash bindings/generate.sh "target/$device/$dir/$lib"
generated=target/bindings/swift
mkdir -p ios/Sources/SoftToken/Generated
cp "$generated/SoftToken.swift" ios/Sources/SoftToken/Generated/SoftToken.swift
cp "$generated/SoftTokenFFI.h" "$out/headers/"
# An XCFramework's headers carry the module map under its standard name.
cp "$generated/SoftTokenFFI.modulemap" "$out/headers/module.modulemap"

lipo -create "target/${simulators[0]}/$dir/$lib" "target/${simulators[1]}/$dir/$lib" -output "$out/sim/$lib"
lipo -create "target/${macs[0]}/$dir/$lib" "target/${macs[1]}/$dir/$lib" -output "$out/mac/$lib"

xcodebuild -create-xcframework \
  -library "target/$device/$dir/$lib" -headers "$out/headers" \
  -library "$out/sim/$lib" -headers "$out/headers" \
  -library "$out/mac/$lib" -headers "$out/headers" \
  -output ios/SoftTokenFFI.xcframework

echo "ios/SoftTokenFFI.xcframework and ios/Sources/SoftToken/Generated/SoftToken.swift are ready: cd ios && swift test"
