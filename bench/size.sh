#!/usr/bin/env bash
# Prints the stripped size of libsofttoken_ffi.so on x86_64 Linux, the proxy
# for each Android ABI, built with
#   - the mobile profile (opt-level "z", fat LTO, one codegen unit, stripped,
#     unwinding kept): what android/build-rust.sh and ios/build-xcframework.sh
#     ship, and the figure to report (it must stay ≤ 1 MB);
#   - the release profile (opt-level 3), as the desktop and the tests use it;
# each linked two ways: as a plain Linux link does, and with relative
# relocations packed (-z pack-relative-relocs, glibc ≥ 2.36, binutils ≥ 2.38),
# which is what the NDK's clang does for every Android library by default
# (--pack-dyn-relocs=relr from API 28, =android from API 23).
set -euo pipefail
cd "$(dirname "$0")/.."
packed=(-C link-arg=-Wl,-z,pack-relative-relocs)
for profile in mobile release; do
  cargo build --locked --profile "$profile" -p softtoken-ffi >/dev/null 2>&1
  plain=$(stat -c %s "target/$profile/libsofttoken_ffi.so")
  # A target directory of its own: other flags would rebuild the shared one.
  RUSTFLAGS="${packed[*]}" CARGO_TARGET_DIR=target/size-packed \
    cargo build --locked --profile "$profile" -p softtoken-ffi >/dev/null 2>&1
  bytes=$(stat -c %s "target/size-packed/$profile/libsofttoken_ffi.so")
  printf 'size: libsofttoken_ffi.so, %s profile, stripped, x86_64 Linux: %d bytes (%d KB) linked as Android links (relocations packed); %d bytes (%d KB) plain\n' \
    "$profile" "$bytes" $((bytes / 1000)) "$plain" $((plain / 1000))
done
