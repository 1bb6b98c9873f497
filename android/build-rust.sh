#!/usr/bin/env bash
# Cross-compiles softtoken-ffi (mobile profile: built for size) for the
# Android ABIs into app/src/main/jniLibs with cargo-ndk, and generates the
# Kotlin bindings into app/build/generated/uniffi/kotlin with the workspace's
# own uniffi-bindgen. The Gradle build runs it before compiling.
# Needs: rustup, the Android NDK (ANDROID_NDK_HOME, or the SDK's ndk/), and
# `cargo install cargo-ndk`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

command -v cargo-ndk >/dev/null || cargo install cargo-ndk
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android

cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$here/app/src/main/jniLibs" \
  build --locked --profile mobile -p softtoken-ffi

bash bindings/generate.sh target/aarch64-linux-android/mobile/libsofttoken_ffi.a
out="$here/app/build/generated/uniffi/kotlin"
rm -rf "$out" && mkdir -p "$out"
cp -R target/bindings/kotlin/. "$out/"
echo "android: jniLibs for arm64-v8a, armeabi-v7a, x86_64 and the Kotlin bindings are ready"
