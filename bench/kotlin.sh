#!/usr/bin/env bash
# What a call from Kotlin costs: builds the release library and its bindings,
# compiles the Kotlin benchmark (tests/kotlin/Bench.kt) and runs it on a warmed
# JVM through JNA. Prints µs per call; asserts nothing.
# Usage: bench/kotlin.sh [CALLS]   (JAVA_OPTS passes flags to the JVM, e.g. a profiler)
# Needs what scripts/kotlin-test.sh needs (Java 17, npm, libjna-java).
set -euo pipefail
cd "$(dirname "$0")/.."

kotlinc=$(bash scripts/kotlinc.sh)

bash bindings/generate.sh >/dev/null

jars=/usr/share/java
classpath="$jars/jna.jar"
build=target/kotlin
mkdir -p "$build"
"$kotlinc" -nowarn -jvm-target 17 -cp "$classpath" -include-runtime -d "$build/bench.jar" \
  target/bindings/kotlin/dev/softtoken/*.kt tests/kotlin/Bench.kt tests/kotlin/Stores.kt
# shellcheck disable=SC2086
java ${JAVA_OPTS:-} -Djna.library.path="target/${SOFTTOKEN_PROFILE:-release}" -cp "$build/bench.jar:$classpath" dev.softtoken.tests.Bench "${1:-20000}"
