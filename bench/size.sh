#!/usr/bin/env bash
# Prints the stripped size of libsofttoken_ffi.so built with the release
# profile (opt-level 3, as the desktop and tests use) and the mobile profile
# (opt-level "z", as the Android and iOS builds use), with unwinding kept.
set -euo pipefail
cd "$(dirname "$0")/.."
for profile in release mobile; do
  cargo build --locked --profile "$profile" -p softtoken-ffi >/dev/null 2>&1
  dir=$profile
  bytes=$(stat -c %s "target/$dir/libsofttoken_ffi.so")
  printf 'size: libsofttoken_ffi.so (%s profile, stripped, x86_64 Linux): %d bytes (%d KB)\n' "$profile" "$bytes" $((bytes / 1000))
done
