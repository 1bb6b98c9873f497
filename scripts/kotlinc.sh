#!/usr/bin/env bash
# Prints the path of the Kotlin compiler the Kotlin tests and benchmark use,
# unpacking npm's kotlin-compiler package into target/tools the first time.
# Needs npm and Java 17 (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

KOTLIN_VERSION=2.4.20
tools=target/tools
kotlinc="$tools/package/bin/kotlinc"
if [ ! -x "$kotlinc" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf "kotlin-compiler-$KOTLIN_VERSION.tgz")
fi
echo "$kotlinc"
