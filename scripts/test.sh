#!/usr/bin/env bash
# Runs every test: installs what is missing (the oracles, the JVM kit,
# schemathesis, Chromium, PostgreSQL), then the Rust tests (unit, property,
# end-to-end over HTTP on SQLite and PostgreSQL, browser, cross-checks),
# optimised in the `ci` profile, then the Kotlin tests on the JVM through the
# real library and the real token service.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --profile ci --locked
SOFTTOKEN_PROFILE=ci bash scripts/kotlin-test.sh
python3 scripts/check-swift.py
python3 scripts/check-strings.py
