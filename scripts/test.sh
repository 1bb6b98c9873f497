#!/usr/bin/env bash
# Runs every test: installs the oracles if missing, then the Rust tests
# (unit, property, end-to-end, cross-checks) in release mode, then the Kotlin
# tests on the JVM through the real library.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --release --locked
bash scripts/kotlin-test.sh
python3 scripts/check-swift.py
python3 scripts/check-strings.py
