#!/usr/bin/env bash
# Builds softtoken-ffi (the release profile, or $SOFTTOKEN_PROFILE) and writes the Kotlin and Swift bindings under
# target/bindings/{kotlin,swift} with the workspace's own uniffi-bindgen.
# Usage: bindings/generate.sh [LIBRARY]  (default: the host's target/release/libsofttoken_ffi.a;
# the Android and iOS builds pass the library they built for a device).
set -euo pipefail
cd "$(dirname "$0")/.."

library="${1:-}"
profile="${SOFTTOKEN_PROFILE:-release}"
if [ -z "$library" ]; then
  cargo build --profile "$profile" --locked -p softtoken-ffi
  # Library mode reads uniffi's metadata from the static library: the shared one is stripped.
  library="target/$profile/libsofttoken_ffi.a"
fi
out=target/bindings
rm -rf "$out/kotlin" "$out/swift"
cargo uniffi-bindgen generate --no-format --library "$library" --language kotlin --out-dir "$out/kotlin"
cargo uniffi-bindgen generate --no-format --library "$library" --language swift --out-dir "$out/swift"
echo "bindings: $(find "$out/kotlin" "$out/swift" -type f | wc -l) files in $out (kotlin: dev.softtoken, swift: SoftToken)"
